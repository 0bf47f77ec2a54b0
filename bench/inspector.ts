/**
 * The bench's look inside a service process through the V8 inspector (the process runs with
 * `--inspect=127.0.0.1:0`): force a full GC, read `process.memoryUsage()`, and take a heap snapshot summarised by
 * constructor. Nothing in the services knows about it.
 */

/** The inspector's WebSocket URL from a process's output ("Debugger listening on ws://…"). */
export function inspectorUrlOf(output: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
}

export interface MemoryUsage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface HeapGroup {
  name: string;
  count: number;
  selfBytes: number;
}

export class Inspector {
  readonly #socket: WebSocket;
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #listeners = new Map<string, (params: unknown) => void>();

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        method?: string;
        params?: unknown;
      };
      if (message.id !== undefined) {
        const waiter = this.#waiting.get(message.id);
        this.#waiting.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error.message));
        else waiter?.resolve(message.result);
      } else if (message.method) this.#listeners.get(message.method)?.(message.params);
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`no inspector at ${url}`)), { once: true });
    });
    return new Inspector(socket);
  }

  send<R>(method: string, params: Record<string, unknown> = {}): Promise<R> {
    const id = this.#next++;
    return new Promise<R>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Full garbage collections (two, so that what the first freed for finalisation goes too). */
  async gc(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage');
    await this.send('HeapProfiler.collectGarbage');
  }

  async memoryUsage(): Promise<MemoryUsage> {
    const { result } = await this.send<{ result: { value: MemoryUsage } }>('Runtime.evaluate', {
      expression: 'process.memoryUsage()',
      returnByValue: true,
    });
    return result.value;
  }

  /**
   * A heap snapshot (it collects garbage first) summarised by what V8 names each object: its constructor for
   * objects, `(closure)` names for functions, `(string)`, `(array)`, … for the rest; largest first.
   */
  async heapByConstructor(top = 40): Promise<HeapGroup[]> {
    const chunks: string[] = [];
    this.#listeners.set('HeapProfiler.addHeapSnapshotChunk', (params) => chunks.push((params as { chunk: string }).chunk));
    await this.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false });
    this.#listeners.delete('HeapProfiler.addHeapSnapshotChunk');
    const snapshot = JSON.parse(chunks.join('')) as {
      snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
      nodes: number[];
      strings: string[];
    };
    const fields = snapshot.snapshot.meta.node_fields;
    const types = snapshot.snapshot.meta.node_types[0];
    const width = fields.length;
    const typeAt = fields.indexOf('type');
    const nameAt = fields.indexOf('name');
    const sizeAt = fields.indexOf('self_size');
    const groups = new Map<string, HeapGroup>();
    for (let i = 0; i < snapshot.nodes.length; i += width) {
      const type = types[snapshot.nodes[i + typeAt]!]!;
      const rawName = snapshot.strings[snapshot.nodes[i + nameAt]!]!;
      const name =
        type === 'object' || type === 'native' ? rawName : type === 'closure' ? `(closure) ${rawName || 'anonymous'}` : `(${type})`;
      const group = groups.get(name) ?? { name, count: 0, selfBytes: 0 };
      group.count++;
      group.selfBytes += snapshot.nodes[i + sizeAt]!;
      groups.set(name, group);
    }
    return [...groups.values()].sort((a, b) => b.selfBytes - a.selfBytes).slice(0, top);
  }

  /** Starts the V8 CPU profiler of the process (sampling every `intervalUs`). */
  async startProfile(intervalUs = 500): Promise<void> {
    await this.send('Profiler.enable');
    await this.send('Profiler.setSamplingInterval', { interval: intervalUs });
    await this.send('Profiler.start');
  }

  /** Stops the profiler; the profile in the `.cpuprofile` format. */
  async stopProfile(): Promise<unknown> {
    const { profile } = await this.send<{ profile: unknown }>('Profiler.stop');
    await this.send('Profiler.disable');
    return profile;
  }

  close(): void {
    this.#socket.close();
  }
}
