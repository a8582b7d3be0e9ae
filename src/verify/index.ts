// portcullis/verify: offline verification of Portcullis access tokens for Node APIs.
//
//   const verifier = createTokenVerifier({
//     issuer: 'https://id.example.com', audience: 'https://orders.example.com',
//     revocationFeed: { getAccessToken: () => clientCredentialsToken('https://id.example.com/revocations') },
//   });
//   await verifier.ready();
//   const { claims } = await verifier.verify(token, { scope: 'orders.read' });
//
// Checks: signature against the issuer's JWKS (cached; refetched on an unknown kid, so key
// rollover just works) by an algorithm Portcullis signs access tokens with (ES256 unless told
// otherwise: see `algorithms`), `typ` at+jwt, `iss`, `aud`, `exp` (with a small clock tolerance),
// `scope`, an optional rule on the `act` chain, and revocation from the feed: a token revoked at
// the server is refused here as soon as the event arrives (well under a second on a live feed).
//
// DPoP (RFC 9449): `authenticate(request)` takes the token from the Authorization header, Bearer
// or DPoP, and for a DPoP-bound token (`cnf.jkt`) checks the request's proof (request-auth.ts);
// `verify(token)` has no request to check a proof against, so it refuses bound tokens.
// `authenticationFailure(error, request)` is the answer to send (status, WWW-Authenticate).
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { TokenVerificationError } from './errors.js';
import { startFeedClient, type FeedClient } from './feed-client.js';
import { accessTokenAlgorithms, accessTokenRequiredClaims, accessTokenType } from './token-format.js';
import { checkDpopProof, presentedAccessToken, SeenProofs, type IncomingRequest, type PresentedAccessToken } from './request-auth.js';
import type { DpopNonces } from './dpop-proof.js';

export {
  authenticationFailure,
  DpopProofError,
  presentedAccessToken,
  type AuthenticationFailure,
  type ChallengeOptions,
  type IncomingRequest,
  type PresentedAccessToken,
} from './request-auth.js';
export { accessTokenHash, dpopSigningAlgorithms, verifyDpopProof, type DpopProofCheck, type DpopNonces } from './dpop-proof.js';
export { forwardTransactionToken, txnTokenHeader, type VerifiedTransactionToken } from './transaction-token.js';
import { verifyTransactionToken, type VerifiedTransactionToken } from './transaction-token.js';

export { TokenVerificationError, type TokenVerificationCode } from './errors.js';

export interface ActClaim {
  sub: string;
  act?: ActClaim;
}

export { accessTokenAlgorithms } from './token-format.js';

export interface TokenVerifierOptions {
  issuer: string;
  /** This API's identifier: tokens must be addressed to it. */
  audience: string;
  /** Follow the revocation feed (recommended), or `false` to check signatures and claims only. */
  revocationFeed:
    | { getAccessToken(): Promise<string>; url?: string; onError?: (error: Error) => void }
    | false;
  /** Refuse tokens while the feed has been out of contact longer than this (default 30 s). */
  maxFeedSilenceMs?: number;
  clockToleranceSeconds?: number;
  /**
   * The JWS algorithms accepted for access tokens (default `accessTokenAlgorithms`: ES256, the
   * only one Portcullis signs them with). Configuration, not discovery: the discovery document
   * has no member for access-token algorithms (its `id_token_signing_alg_values_supported`
   * lists RS256 precisely because ID tokens are not access tokens), and an allow-list read
   * from the network could be widened by whoever can change what that URL serves.
   */
  algorithms?: readonly string[];
  jwksUri?: string;
  fetch?: typeof fetch;
  /** RFC 9449: accept only DPoP-bound tokens, with their proof (an API registered with dpop_bound_access_tokens). */
  requireDpop?: boolean;
  /**
   * For a service behind a gateway that checks DPoP proofs itself (Portcullis' /forward-auth): a
   * bound token's proof was checked there, so a bound inner token is accepted as Bearer. Only
   * where nothing but the gateway can reach the service.
   */
  dpopCheckedUpstream?: boolean;
  /** The trust domain Transaction Tokens are addressed to (Portcullis' TRUST_DOMAIN; default the issuer). */
  trustDomain?: string;
  /** RFC 9449 §9: this API's own DPoP nonces, when it issues any (`next` is sent as DPoP-Nonce). */
  dpopNonces?: DpopNonces & { next(): string };
}

export interface VerifyOptions {
  /** Scopes the operation needs (all of them). */
  scope?: string | readonly string[];
  /** Decide whether this delegation chain (newest actor first) may call; no chain is `undefined`. */
  allowActors?: (act: ActClaim | undefined) => boolean;
}

export interface VerifiedToken {
  claims: JWTPayload & {
    scope?: string;
    client_id?: string;
    act?: ActClaim;
    gid?: string;
    /** The issue time in ms since the epoch (Portcullis' private claim; `iat` is in seconds). */
    iat_ms?: number;
    /** For a token-exchange result: the tokens it was exchanged from, nearest first. */
    exchanged_from?: { jti?: string; client_id?: string }[];
    /** RFC 9449 §6.1: the key a DPoP-bound token is bound to. */
    cnf?: { jkt?: string };
  };
  scopes: string[];
}

export interface AuthenticatedRequest extends VerifiedToken {
  /** How the token came: a DPoP-bound token only ever as DPoP, with its proof checked. */
  scheme: PresentedAccessToken['scheme'];
}

export interface TokenVerifier {
  /** A bearer token on its own; a DPoP-bound token is refused (ERR_DPOP_BOUND_TOKEN): use authenticate. */
  verify(token: string, options?: VerifyOptions): Promise<VerifiedToken>;
  /** The token of a request (Bearer or DPoP, RFC 9449 §7), with the proof of a bound token. */
  authenticate(request: IncomingRequest, options?: VerifyOptions): Promise<AuthenticatedRequest>;
  /** The request's Txn-Token header (draft-ietf-oauth-transaction-tokens §7.3), for `trustDomain`. */
  transactionToken(request: IncomingRequest): Promise<VerifiedTransactionToken>;
  /** Resolves once the revocation feed is up to date (at once without a feed). */
  ready(): Promise<void>;
  close(): void;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const issuer = options.issuer.replace(/\/+$/, '');
  const jwks = createRemoteJWKSet(new URL(options.jwksUri ?? `${issuer}/jwks`));
  const maxSilence = options.maxFeedSilenceMs ?? 30_000;
  const algorithms = [...(options.algorithms ?? accessTokenAlgorithms)];
  if (algorithms.length === 0 || algorithms.some((alg) => alg === 'none' || alg.startsWith('HS'))) {
    throw new TypeError('algorithms must name asymmetric JWS algorithms (RFC 8725 §3.1, §3.2)');
  }
  let feed: FeedClient | undefined;
  const { revocationFeed } = options;
  if (revocationFeed) {
    feed = startFeedClient({
      url: revocationFeed.url ?? `${issuer}/revocations`,
      getAccessToken: () => revocationFeed.getAccessToken(),
      fetch: options.fetch ?? globalThis.fetch,
      onError: revocationFeed.onError,
    });
  }

  const seenProofs = new SeenProofs();
  const clockTolerance = options.clockToleranceSeconds ?? 5;

  /** Signature, claims and revocation: the token is genuine and live (not yet: for this operation). */
  async function verifyToken(token: string): Promise<VerifiedToken['claims']> {
    let claims: VerifiedToken['claims'];
    try {
      ({ payload: claims } = await jwtVerify(token, jwks, {
        issuer,
        audience: options.audience,
        typ: accessTokenType,
        algorithms,
        requiredClaims: [...accessTokenRequiredClaims],
        clockTolerance,
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new TokenVerificationError('ERR_TOKEN_EXPIRED', 'the access token has expired');
      throw new TokenVerificationError('ERR_TOKEN_INVALID', 'the access token is not valid for this API');
    }
    if (feed) {
      const inContact = feed.live || Date.now() - feed.lastUpToDate < maxSilence;
      if (!inContact || feed.lastUpToDate === 0) {
        throw new TokenVerificationError('ERR_REVOCATION_STATE_UNAVAILABLE', 'the revocation feed is not up to date');
      }
      if (feed.state.isRevoked(claims)) throw new TokenVerificationError('ERR_TOKEN_REVOKED', 'the access token has been revoked');
    }
    return claims;
  }

  /** What the operation needs: its scopes and, for a delegated call, an allowed chain. */
  function authorize(claims: VerifiedToken['claims'], verifyOptions: VerifyOptions): VerifiedToken {
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
    const needed = typeof verifyOptions.scope === 'string' ? verifyOptions.scope.split(' ') : (verifyOptions.scope ?? []);
    const missing = needed.filter((scope) => !scopes.includes(scope));
    if (missing.length) throw new TokenVerificationError('ERR_INSUFFICIENT_SCOPE', `the access token lacks ${missing.join(' ')}`);
    if (verifyOptions.allowActors && !verifyOptions.allowActors(claims.act)) {
      throw new TokenVerificationError('ERR_ACTOR_NOT_ALLOWED', 'this delegation chain may not call this API');
    }
    return { claims, scopes };
  }

  return {
    async verify(token, verifyOptions = {}) {
      const claims = await verifyToken(token);
      if (claims.cnf?.jkt !== undefined && !options.dpopCheckedUpstream) {
        throw new TokenVerificationError('ERR_DPOP_BOUND_TOKEN', 'the access token is DPoP-bound: its proof must be checked with authenticate(request)');
      }
      if (options.requireDpop) throw new TokenVerificationError('ERR_DPOP_REQUIRED', 'this API accepts only DPoP-bound access tokens');
      return authorize(claims, verifyOptions);
    },
    async authenticate(request, verifyOptions = {}) {
      const presented = presentedAccessToken(request);
      if (!presented) throw new TokenVerificationError('ERR_TOKEN_MISSING', 'an access token is required');
      const claims = await verifyToken(presented.token);
      const jkt = claims.cnf?.jkt;
      if (presented.scheme === 'DPoP') {
        if (typeof jkt !== 'string') throw new TokenVerificationError('ERR_TOKEN_INVALID', 'the access token is not DPoP-bound: send it as Bearer');
        await checkDpopProof(request, presented.token, jkt, seenProofs, { clockToleranceSeconds: clockTolerance, nonces: options.dpopNonces });
      } else if (jkt !== undefined && !options.dpopCheckedUpstream) {
        throw new TokenVerificationError('ERR_DPOP_BOUND_TOKEN', 'the access token is DPoP-bound: send it as DPoP <token> with a DPoP proof');
      } else if (options.requireDpop) {
        throw new TokenVerificationError('ERR_DPOP_REQUIRED', 'this API accepts only DPoP-bound access tokens');
      }
      return { ...authorize(claims, verifyOptions), scheme: presented.scheme };
    },
    transactionToken: (request) =>
      verifyTransactionToken(request, { jwks, issuer, trustDomain: options.trustDomain ?? issuer, algorithms, clockTolerance }),
    ready: () => feed?.ready() ?? Promise.resolve(),
    close: () => feed?.close(),
  };
}
