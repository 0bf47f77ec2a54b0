/** The token of an `Authorization: Bearer <token>` header, if the header is one. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}
