import { describe, expect, it } from 'vitest';
import { ERRORS } from '@chat/contracts';
import { errorCodeTable, serviceContract, staleFiles, withSection } from '../../scripts/docs.ts';

describe('the docs generated from the contracts', () => {
  it('are up to date (else run: node --conditions=source scripts/docs.ts)', () => {
    expect(staleFiles()).toEqual([]);
  });

  it('list every error code and every endpoint', () => {
    const table = errorCodeTable();
    for (const code of Object.keys(ERRORS)) expect(table).toContain(`| \`${code}\` |`);
    expect(serviceContract('presence')).toContain('.rpc.presence.heartbeat');
    expect(serviceContract('gateway')).toContain('.rpc.presence.heartbeat');
    expect(serviceContract('uploads')).toContain('.rpc.messages.file-shared');
  });

  it('notice a section that was edited by hand', () => {
    const text = withSection('a\n<!-- generated:x (scripts/docs.ts) -->\nold\n<!-- /generated:x -->\nb', 'x', 'new');
    expect(text).toBe('a\n<!-- generated:x (scripts/docs.ts) -->\nnew\n<!-- /generated:x -->\nb');
    expect(() => withSection('no markers', 'x', 'new')).toThrow(/markers/);
  });
});
