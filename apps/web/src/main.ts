import './style.css';
import { ChatApp } from './chat.ts';
import { clear } from './dom.ts';
import { loadSession, type Session } from './session.ts';
import { renderSignIn } from './sign-in.ts';

const root = document.getElementById('app')!;

function signedIn(session: Session): void {
  clear(root);
  new ChatApp(root, session, { signedOut }).start();
}

function signedOut(reason?: string): void {
  clear(root);
  renderSignIn(root, { signedIn, ...(reason ? { error: reason } : {}) });
}

const session = loadSession();
if (session) signedIn(session);
else signedOut();
