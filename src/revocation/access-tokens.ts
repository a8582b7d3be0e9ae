// Moved to the token core (src/tokens/access-token-verifier.ts). Kept only until server.ts and
// provider.ts import it from there (issue #16 item 1); delete then.
export { createAccessTokenVerifier, type VerifyAccessToken } from '../tokens/access-token-verifier.js';
