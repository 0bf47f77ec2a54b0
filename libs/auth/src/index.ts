export { bearerToken } from './bearer.ts';
export { createTokenVerifier, verifierFromEnv } from './verifier.ts';
export type { AuthConfig, AuthUser, JwtEnv, TokenVerifier } from './verifier.ts';
