import type { ChatRest } from '@chat/client';

/**
 * Files of messages, fetched with the token (an `<img src>` could not send it) and shown from object URLs,
 * once per file for the session.
 */
export class FileCache {
  readonly #urls = new Map<string, Promise<string>>();
  readonly #rest: () => ChatRest;

  constructor(rest: () => ChatRest) {
    this.#rest = rest;
  }

  objectUrl(fileUrl: string): Promise<string> {
    let url = this.#urls.get(fileUrl);
    if (!url) {
      url = this.#rest()
        .download(fileUrl)
        .then(async (response) => {
          if (!response.ok) throw new Error(`download failed (${response.status})`);
          return URL.createObjectURL(await response.blob());
        });
      // A failure is not kept: the next render tries again.
      url.catch(() => this.#urls.delete(fileUrl));
      this.#urls.set(fileUrl, url);
    }
    return url;
  }

  /** Saves a file through a temporary link to its object URL. */
  async save(fileUrl: string, fileName: string): Promise<void> {
    const link = Object.assign(document.createElement('a'), { href: await this.objectUrl(fileUrl), download: fileName });
    document.body.append(link);
    link.click();
    link.remove();
  }

  dispose(): void {
    for (const url of this.#urls.values()) void url.then(URL.revokeObjectURL, () => undefined);
    this.#urls.clear();
  }
}
