import { CONVERSATIONS_PATH, UPLOAD_PATH } from './contract-checks.ts';
import type { ChatErrorPayload, ConversationSummary, MessagesPage, Result, UploadedFile } from './types.ts';

export interface ChatRestOptions {
  /** The gateway's base URL (`https://chat.example.com`). */
  baseUrl: string;
  /** The current JWT (e.g. `() => client.token`), read for every request. */
  token: () => string;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
}

/** Which messages a history request asks for: the spec's `page` (1: the newest), or a `before`/`after` seq cursor. */
export type HistoryQuery = { limit?: number } & ({ page?: number } | { before: number } | { after: number });

/** The REST API's envelope `{ status, message, data }`, errors with `code` and `details`, as a `Result`. */
export class ChatRest {
  readonly #baseUrl: string;
  readonly #token: () => string;
  readonly #fetch: typeof fetch;

  constructor({ baseUrl, token, fetch: fetchImpl = globalThis.fetch }: ChatRestOptions) {
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
    this.#token = token;
    // Called as a plain function: a browser's `fetch` called as a method of another object throws "Illegal invocation".
    this.#fetch = (input, init) => fetchImpl(input, init);
  }

  /** The caller's conversations, most recently active first; `before`: the `updatedAt` of the last row seen. */
  conversations(query: { limit?: number; before?: string } = {}): Promise<Result<ConversationSummary[]>> {
    return this.#request('GET', `${CONVERSATIONS_PATH}${search(query)}`);
  }

  history(conversationId: string, query: HistoryQuery = {}): Promise<Result<MessagesPage>> {
    return this.#request('GET', `${CONVERSATIONS_PATH}/${encodeURIComponent(conversationId)}/messages${search(query)}`);
  }

  /** Opens (idempotently) the conversation with another user. */
  openConversation(participantId: string, jobId?: string): Promise<Result<{ conversationId: string }>> {
    return this.#request('POST', CONVERSATIONS_PATH, JSON.stringify(jobId === undefined ? { participantId } : { participantId, jobId }));
  }

  /** Uploads one file; put the answer's `fileId`, `fileName`, `fileSize` and `fileUrl` in the message. */
  upload(file: Blob, fileName: string): Promise<Result<UploadedFile>> {
    const form = new FormData();
    form.append('file', file, fileName);
    return this.#request('POST', UPLOAD_PATH, form);
  }

  /** The absolute URL of a message's `fileUrl` (a path on this system, or already absolute). */
  downloadUrl(fileUrl: string): string {
    return /^https?:\/\//.test(fileUrl) ? fileUrl : `${this.#baseUrl}${fileUrl}`;
  }

  /** Downloads a file with the token (the URL needs it: an `<img src>` cannot send it; use `URL.createObjectURL`). */
  download(fileUrl: string): Promise<Response> {
    return this.#fetch(this.downloadUrl(fileUrl), { headers: { authorization: `Bearer ${this.#token()}` } });
  }

  async #request<T>(method: string, path: string, body?: string | FormData): Promise<Result<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token()}` };
    if (typeof body === 'string') headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(`${this.#baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    } catch {
      return { ok: false, error: { code: 'DISCONNECTED', message: `${method} ${path} did not reach the server` } };
    }
    const answer = (await response.json().catch(() => undefined)) as
      | { data?: T; code?: ChatErrorPayload['code']; message?: string; details?: unknown }
      | undefined;
    if (response.ok && answer && 'data' in answer) return { ok: true, data: answer.data as T };
    return {
      ok: false,
      error: {
        code: answer?.code ?? (response.status === 401 ? 'AUTH_ERROR' : 'INTERNAL_ERROR'),
        message: answer?.message ?? `HTTP ${response.status}`,
        ...(answer?.details === undefined ? {} : { details: answer.details }),
      },
    };
  }
}

function search(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}
