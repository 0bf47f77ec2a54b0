import { describe, expect, it } from 'vitest';
import { ChatRest } from './rest.ts';

describe('ChatRest', () => {
  it('calls fetch as a plain function, as a browser\u2019s fetch requires (no "Illegal invocation")', async () => {
    const calls: string[] = [];
    // What a browser's fetch does when called with another `this` than the window.
    const strictFetch = function (this: unknown, input: string | URL | Request) {
      if (this !== undefined && this !== globalThis) throw new TypeError("Failed to execute 'fetch' on 'Window': Illegal invocation");
      calls.push(String(input));
      return Promise.resolve(Response.json({ status: 200, message: 'ok', data: [] }));
    } as typeof fetch;
    const rest = new ChatRest({ baseUrl: 'http://chat.test/', token: () => 't', fetch: strictFetch });
    expect(await rest.conversations()).toEqual({ ok: true, data: [] });
    expect(calls).toEqual(['http://chat.test/api/chat/conversations']);
  });
});
