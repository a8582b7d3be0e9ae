// Moved to the token core (src/tokens/access-token-signer.ts). Kept only until app.ts imports it
// from there (issue #16 item 1); delete then.
export { createAccessTokenSigner, type SignAccessToken } from '../../tokens/access-token-signer.js';
