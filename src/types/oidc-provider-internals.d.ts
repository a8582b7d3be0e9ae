// The few oidc-provider modules below its public entry that src/oidc/internals.ts touches.
// The package has no exports map; these paths are stable within v9 but are not public API.
type ProviderMiddleware = (ctx: import('oidc-provider').KoaContextWithOIDC, next: () => Promise<unknown>) => unknown;

declare module 'oidc-provider/lib/actions/revocation.js' {
  const actions: ProviderMiddleware[];
  export default actions;
}
declare module 'oidc-provider/lib/actions/introspection.js' {
  const actions: ProviderMiddleware[];
  export default actions;
}
declare module 'oidc-provider/lib/shared/reject_structured_tokens.js' {
  const rejectStructuredTokens: ProviderMiddleware;
  export default rejectStructuredTokens;
}
declare module 'oidc-provider/lib/actions/token.js' {
  const actions: ProviderMiddleware[];
  export default actions;
}
declare module 'oidc-provider/lib/shared/selective_body.js' {
  export const urlencoded: ProviderMiddleware;
}
declare module 'oidc-provider/lib/actions/authorization/index.js' {
  /** The middleware stack of one authorization endpoint, built once and cached (the same array every call). */
  export default function getAuthorization(endpoint: 'authorization' | 'pushed_authorization_request'): ProviderMiddleware[];
}
declare module 'oidc-provider/lib/actions/authorization/response_parameters.js' {
  export const checkResponseType: ProviderMiddleware;
}
declare module 'oidc-provider/lib/helpers/challenge.js' {
  /** Stateless server challenges: HKDF of a 32-byte secret and the minute (DPoP nonces, RFC 9449 §8). */
  export default class ServerChallenge {
    constructor(secret: Buffer, info: string);
    nextChallenge(): string;
    checkChallenge(challenge: string): boolean;
  }
}
