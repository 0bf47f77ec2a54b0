/** Who is signed in, to which gateway(s): kept in `localStorage` so that a reload stays signed in. */
export interface Session {
  token: string;
  /** Gateway URLs, tried in turn. */
  servers: string[];
  /** Set when the token came from the development helper, which can also renew it. */
  dev?: { userId: string; name: string };
}

const KEY = 'chat-web:session';

export function loadSession(): Session | undefined {
  try {
    const raw = localStorage.getItem(KEY);
    const session = raw ? (JSON.parse(raw) as Session) : undefined;
    return session && typeof session.token === 'string' && Array.isArray(session.servers) ? session : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  localStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  localStorage.removeItem(KEY);
}

/** The gateway(s) the app was built for, else this page's host on the gateway's default port. */
export function defaultServers(): string[] {
  const configured = parseServers(import.meta.env.VITE_CHAT_URL ?? '');
  return configured.length > 0 ? configured : [`${location.protocol}//${location.hostname}:4000`];
}

export function parseServers(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((url) => url.trim().replace(/\/+$/, ''))
    .filter((url) => /^https?:\/\/[^/]+/.test(url));
}

export interface Claims {
  userId: string;
  name?: string;
  exp?: number;
}

/** The claims of a JWT, unverified (the server verifies it): enough to say who it is for and whether it expired. */
export function claimsOf(token: string): Claims | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
    const userId = typeof json.userId === 'string' ? json.userId : typeof json.sub === 'string' ? json.sub : undefined;
    if (!userId) return undefined;
    return {
      userId,
      ...(typeof json.name === 'string' ? { name: json.name } : {}),
      ...(typeof json.exp === 'number' ? { exp: json.exp } : {}),
    };
  } catch {
    return undefined;
  }
}

/** A token from the development helper of the Vite dev server (`dev-token.ts`). */
export async function devToken(userId: string, name: string): Promise<string> {
  const response = await fetch(`/__dev/token?${new URLSearchParams({ userId, name })}`);
  const body = (await response.json().catch(() => ({}))) as { token?: string; message?: string };
  if (!response.ok || !body.token) throw new Error(body.message ?? `the development token helper answered ${response.status}`);
  return body.token;
}
