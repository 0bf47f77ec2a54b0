/** A URL fit for a log line or an error message: any `user:password@` replaced by `***@`. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Opens a client of a server (MongoDB, Redis, …): `open` connects it and checks that the server answers. On
 * failure the client is closed and the error says what could not be reached where (the URL without its
 * credentials), so that a start that fails leaves nothing open and says why.
 */
export async function openClient<T extends { close(): Promise<unknown> }>(
  what: string,
  url: string,
  client: T,
  open: (client: T) => Promise<unknown>,
): Promise<T> {
  try {
    await open(client);
    return client;
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new Error(`cannot connect to ${what} at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
}
