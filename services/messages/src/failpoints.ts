/**
 * Failpoints: named places where a test can make the process die, to prove that a crash at that exact point
 * loses and duplicates nothing. Set with `FAILPOINTS=name=kill[,name=kill]`; unset in production, where
 * `hit` is a no-op.
 */
export const FAILPOINT_NAMES = ['send.after-store', 'send.before-ack'] as const;
export type FailpointName = (typeof FAILPOINT_NAMES)[number];

export type Failpoints = (name: FailpointName) => void;

export function parseFailpoints(spec: string | undefined): Failpoints {
  const armed = new Set<string>();
  for (const entry of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, action] = entry.split('=');
    if (!FAILPOINT_NAMES.includes(name as FailpointName) || action !== 'kill') {
      throw new Error(`unknown failpoint '${entry}': use one of ${FAILPOINT_NAMES.map((n) => `${n}=kill`).join(', ')}`);
    }
    armed.add(name as string);
  }
  if (armed.size === 0) return () => undefined;
  return (name) => {
    // SIGKILL: no handler, no flush, no ack — exactly what a crashed or OOM-killed pod does.
    if (armed.has(name)) process.kill(process.pid, 'SIGKILL');
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
