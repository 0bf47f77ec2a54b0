import { h } from './dom.ts';
import { claimsOf, defaultServers, devToken, parseServers, saveSession, type Session } from './session.ts';

export interface SignInOptions {
  signedIn: (session: Session) => void;
  /** Why the previous session ended. */
  error?: string;
}

/** Sign-in with a token (as the marketplace issues it); in development also with a user id, through the helper. */
export function renderSignIn(root: HTMLElement, { signedIn, error }: SignInOptions): void {
  const server = h('input', { name: 'server', type: 'text', required: true, autocomplete: 'url', spellcheck: 'false' });
  server.value = defaultServers().join(', ');
  const token = h('textarea', { name: 'token', rows: 4, placeholder: 'eyJhbGciOi…', spellcheck: 'false', 'data-testid': 'token-input' });
  const message = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'sign-in-error' }, error ?? '');

  const finish = (jwt: string, dev?: Session['dev']) => {
    const servers = parseServers(server.value);
    if (servers.length === 0) return void (message.textContent = 'Enter the chat server URL (http:// or https://).');
    const claims = claimsOf(jwt.trim());
    if (!claims) return void (message.textContent = 'That is not a token for a user (a JWT with userId or sub).');
    if (claims.exp !== undefined && claims.exp * 1000 <= Date.now()) return void (message.textContent = 'That token has expired.');
    const session: Session = { token: jwt.trim(), servers, ...(dev ? { dev } : {}) };
    saveSession(session);
    signedIn(session);
  };

  const form = h(
    'form',
    { class: 'sign-in', 'data-testid': 'sign-in' },
    h('h1', {}, 'Chat'),
    h('label', {}, 'Server', server),
    h('label', {}, 'Access token', token),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    message,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    finish(token.value);
  });

  if (__CHAT_DEV_TOKENS__) {
    const userId = h('input', {
      name: 'devUserId',
      type: 'text',
      placeholder: 'user id, e.g. alice',
      pattern: '[A-Za-z0-9\\-]{1,64}',
      'data-testid': 'dev-user-id',
    });
    const name = h('input', { name: 'devName', type: 'text', placeholder: 'display name (optional)' });
    const button = h('button', { type: 'button' }, 'Sign in as this user');
    button.addEventListener('click', async () => {
      if (!userId.reportValidity() || !userId.value) return;
      try {
        finish(await devToken(userId.value, name.value), { userId: userId.value, name: name.value });
      } catch (failure) {
        message.textContent = (failure as Error).message;
      }
    });
    form.append(
      h(
        'fieldset',
        { class: 'dev' },
        h('legend', {}, 'Development only'),
        h('p', {}, 'A token signed by the dev server with the development JWT secret.'),
        userId,
        name,
        button,
      ),
    );
  }
  root.append(h('div', { class: 'sign-in-page' }, form));
}
