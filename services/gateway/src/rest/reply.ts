/** The spec's envelope around a successful answer (errors: `errorEnvelope` in @chat/contracts). */
export const ok = <T>(status: number, message: string, data: T) => ({ status, message, data });
