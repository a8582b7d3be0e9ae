// Moved to the token core (src/tokens/resource-access.ts). Kept only until server.ts, app.ts,
// provider.ts and config/features.ts import it from there; delete then.
export { createResourceAccess, type ResourceAccess } from '../tokens/resource-access.js';
