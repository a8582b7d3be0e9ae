// Moved to the token core (src/tokens/scopes.ts). Kept only until interactions/describe-consent.ts,
// config/interaction-policy.ts and client-metadata.ts import it from there; delete then.
export { oidcScopes, splitScope } from '../tokens/scopes.js';
