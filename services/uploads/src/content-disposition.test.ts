import { describe, expect, it } from 'vitest';
import { contentDisposition } from './content-disposition.ts';

describe('contentDisposition', () => {
  it('shows plain images inline and offers everything else as an attachment', () => {
    expect(contentDisposition('a.png', 'image/png')).toBe(`inline; filename="a.png"; filename*=UTF-8''a.png`);
    expect(contentDisposition('a.pdf', 'application/pdf')).toMatch(/^attachment; /);
  });

  it('keeps the exact name in filename* and an ASCII one that cannot break the quotes', () => {
    const header = contentDisposition('Résumé "final" (1)\\x.pdf', 'application/pdf');
    expect(header).toBe(
      `attachment; filename="R_sum_ _final_ (1)_x.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%20%281%29%5Cx.pdf`,
    );
  });
});
