export { bearerToken } from './bearer.ts';
export { createTokenVerifier } from './verifier.ts';
export type { AuthConfig, AuthUser, TokenVerifier } from './verifier.ts';
