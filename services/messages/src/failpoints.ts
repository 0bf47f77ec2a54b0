/**
 * Failpoints: named places where a test can make the process die, or make one command's store write fail, to
 * prove that a crash or a failure at that exact point loses, duplicates and blocks nothing. Set with
 * `FAILPOINTS=name=action[,name=action]`; unset in production, where `hit` is a no-op.
 *
 * - `kill`: SIGKILL the process there.
 * - `error:<clientMessageId>` (on `send.insert` only): the insert of a batch holding that message fails, as a
 *   store error would, every time: a poison command for the pipeline to set aside.
 */
export const FAILPOINT_NAMES = ['send.after-store', 'send.after-deliver', 'send.after-apply', 'send.before-ack', 'send.insert'] as const;
export type FailpointName = (typeof FAILPOINT_NAMES)[number];

/** Hits a failpoint; `clientMessageIds` is what an `error:` action matches (those of the batch). */
export type Failpoints = (name: FailpointName, clientMessageIds?: readonly string[]) => void;

class InjectedStoreError extends Error {
  constructor(subject: string) {
    super(`injected store error for ${subject}`);
    this.name = 'InjectedStoreError';
  }
}

type Action = { kind: 'kill' } | { kind: 'error'; subject: string };

function parseAction(name: string, action: string | undefined): Action | undefined {
  if (action === 'kill') return { kind: 'kill' };
  if (name === 'send.insert' && action?.startsWith('error:') && action.length > 'error:'.length)
    return { kind: 'error', subject: action.slice(6) };
  return undefined;
}

export function parseFailpoints(spec: string | undefined): Failpoints {
  const armed = new Map<string, Action>();
  for (const entry of (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, action] = entry.split('=');
    const parsed = FAILPOINT_NAMES.includes(name as FailpointName) ? parseAction(name as string, action) : undefined;
    if (!parsed) {
      throw new Error(
        `unknown failpoint '${entry}': use one of ${FAILPOINT_NAMES.map((n) => `${n}=kill`).join(', ')}, send.insert=error:<clientMessageId>`,
      );
    }
    armed.set(name as string, parsed);
  }
  if (armed.size === 0) return () => undefined;
  return (name, subjects = []) => {
    const action = armed.get(name);
    if (!action) return;
    // SIGKILL: no handler, no flush, no ack — exactly what a crashed or OOM-killed pod does.
    if (action.kind === 'kill') process.kill(process.pid, 'SIGKILL');
    else if (subjects.includes(action.subject)) throw new InjectedStoreError(action.subject);
  };
}

export function isValidFailpointSpec(spec: string | undefined): boolean {
  try {
    parseFailpoints(spec);
    return true;
  } catch {
    return false;
  }
}
