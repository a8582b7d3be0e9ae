// Phantom tokens: an API registered with opaque access tokens gets them outside, on the internet;
// its gateway (the client that acts for the API) trades each at introspection, with
// `Accept: application/jwt`, for the RFC 9068 JWT the services behind it verify offline. The JWT
// carries the claims a JWT-format token of that grant would carry (claims.ts), with `exp` the
// opaque token's own and `jti` the opaque token's revocation name (opaque-token-reference.ts: the
// value itself is the bearer credential and never leaves the gateway). So a revocation of the
// opaque token, its user, its client or its grant reaches the services through the revocation
// feed exactly as for any JWT.
//
// The opaque token is read through oidc-provider's models, which go through our adapter: an
// expired, revoked or unknown token is not found, and gets no JWT. A gateway trades the same token
// on every request it forwards, so the signed JWT is remembered for a few seconds
// (`rememberedForMs`), and every trade still asks the revocation state (as introspection does): a
// revocation of the token (RFC 7009, which also deletes it), its user, client or grant stops the
// trade at once. What only the record could tell (a session ended by logout, for a token that
// expires with its session) shows at most `rememberedForMs` late.
import type Provider from 'oidc-provider';
import type { SignAccessToken } from './access-token-signer.js';
import { accessTokenClaims, audiencesOf, tokenIdentity, type AccessTokenClaims } from './claims.js';
import type { TokenIdentity } from '../stores/revocations/types.js';
import { checkAccessToken, type AccessTokenCheckDeps } from './access-token-check.js';
import { looksLikeJwt } from './format.js';
import { opaqueTokenReference } from './opaque-token-reference.js';
import type { ResourceAccess } from './resource-access.js';

/** RFC 9068 §4 leaves the media type open; `application/jwt` (RFC 7519 §10.3.1) is what gateways ask for. */
export const phantomTokenMediaType = 'application/jwt';

export interface PhantomTokenDeps extends AccessTokenCheckDeps {
  issuer: string;
  access: Pick<ResourceAccess, 'find'>;
  signAccessToken: SignAccessToken;
}

const rememberedForMs = 5_000;
const rememberedLimit = 20_000;

interface Remembered {
  jwt: string;
  identity: TokenIdentity;
  audience: string;
  untilMs: number;
}

/** Inner JWTs by opaque value, a few seconds each (see above); oldest out first when full. */
const remembered = new Map<string, Remembered>();

function remember(value: string, entry: Remembered): void {
  if (remembered.size >= rememberedLimit) remembered.delete(remembered.keys().next().value!);
  remembered.set(value, entry);
}

async function rememberedFor(deps: PhantomTokenDeps, callerClientId: string, value: string): Promise<string | null | undefined> {
  const entry = remembered.get(value);
  if (!entry) return undefined;
  if (entry.untilMs <= Date.now()) {
    remembered.delete(value);
    return undefined;
  }
  if (!(await actsForTheApi(deps, callerClientId, entry.audience))) return null;
  if (await deps.revocations.isRevoked(entry.identity)) {
    remembered.delete(value);
    return null;
  }
  return entry.jwt;
}

/** Whether `callerClientId` acts for the one API these audiences name (the trade's only caller). */
async function actsForTheApi(deps: Pick<PhantomTokenDeps, 'access'>, callerClientId: string, aud: unknown): Promise<string | undefined> {
  const audiences = audiencesOf(aud);
  if (audiences.length !== 1) return undefined;
  const api = await deps.access.find(audiences[0]!);
  return api && api.clientId === callerClientId ? api.identifier : undefined;
}

/**
 * The JWT for the opaque access token `value`, for `callerClientId` when it acts for the token's
 * API; undefined when there is none to give (unknown, expired, revoked, another caller's API).
 */
export async function phantomTokenFor(deps: PhantomTokenDeps, provider: Provider, callerClientId: string, value: string): Promise<string | undefined> {
  // A JWT-format token is its own inner token: the gateway gets it back once it is checked, so a
  // gateway in front of JWT and opaque APIs alike needs one way to ask.
  if (looksLikeJwt(value)) {
    const checked = await checkAccessToken(deps, value);
    return checked.ok && (await actsForTheApi(deps, callerClientId, checked.claims.aud)) ? value : undefined;
  }
  const known = await rememberedFor(deps, callerClientId, value);
  if (known !== undefined) return known ?? undefined;
  // Which model the value names is not written in it: both reads at once, one round trip.
  const [userToken, serviceToken] = await Promise.all([provider.AccessToken.find(value), provider.ClientCredentials.find(value)]);
  const token = userToken ?? serviceToken;
  if (!token || token.isExpired || token.iat === undefined || token.exp === undefined || token.clientId === undefined) return undefined;
  const audience = await actsForTheApi(deps, callerClientId, token.aud ?? token.resourceServer?.audience);
  if (!audience) return undefined;
  const content = {
    extra: { ...token.extra },
    jti: opaqueTokenReference(value),
    sub: userToken?.accountId ?? token.clientId,
    iat: token.iat,
    lifetime: token.exp - token.iat,
    scope: token.scope ?? '',
    clientId: token.clientId,
    issuer: deps.issuer,
    audience,
    jkt: token.jkt,
  };
  const jwt = await deps.signAccessToken(content);
  remember(value, {
    jwt,
    identity: tokenIdentity(accessTokenClaims(content) as AccessTokenClaims),
    audience,
    untilMs: Math.min(Date.now() + rememberedForMs, token.exp * 1000),
  });
  return jwt;
}
