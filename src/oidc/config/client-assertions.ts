// private_key_jwt (RFC 7523 §3, RFC 7521 §5.2) checked strictly, and refused with a reason.
// The library verifies the signature with the client's registered keys, an asymmetric `alg`
// from our allow-list, `iss` = client_id (found by `sub`), `exp` and `jti` present and `nbf`
// (oidc-provider/lib/shared/jwt_client_auth.js); we add:
// - `aud` is exactly the issuer identifier (a switch also admits the token endpoint URL);
//   never an array, so an assertion minted for another server is not replayable here;
// - the assertion lives at most `maxLifetime` seconds, `iat` is not in the future;
// - no header that points at other keys (`jku`, `x5u`, `jwk`, `x5c`; RFC 8725 §3.10).
// The `jti` is then consumed atomically (internals.ts, ReplayDetection), and refused too when the
// assertion was issued before the replay store's markers began (oidc/assertion-replay.ts): the
// hook leaves the issue time for that check.
//
// Why a refusal happened is told to the client in `error_description` (client-auth-errors.ts):
// what is wrong with the assertion's own header and claims, which anyone holding it can read,
// is named; anything that depends on the client (unknown client, other authentication method,
// wrong key) gets one description for all, so the answer says no more about which clients
// exist than a bare invalid_client does.
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { enabledJWA } from './client-auth.js';
import { assertionIssuedAtMs, rememberIssuedAtMs } from '../assertion-replay.js';

export interface ClientAssertionPolicy {
  issuer: string;
  tokenEndpoint: string;
  acceptTokenEndpointAudience: boolean;
  maxLifetime: number;
  clockTolerance: number;
}

type Claims = Record<string, unknown>;

/** The library's hook (`assertJwtClientAuthClaimsAndHeader`), plus what the fast path and the error answer need. */
export interface ClientAssertionCheck {
  (ctx: KoaContextWithOIDC, claims: Claims, header: Claims, client: { clientId: string }): Promise<void>;
  /** What is wrong with the assertion's header and claims, whoever the client is (empty: nothing). */
  problems(claims: Claims, header: Claims): string[];
  /** The `error_description` for a client assertion the library refused in this request. */
  describeRefusal(ctx: object, assertion: string): string;
  /** The earliest moment (ms) the assertion could have been accepted: what its one-time use is checked against. */
  issuedAtMs(claims: Claims & { exp: number }): number;
}

const keyReferenceHeaders = ['jku', 'x5u', 'jwk', 'x5c'];

/** The header's `alg` is any string until checked against these. */
const allowedAssertionAlgs: readonly string[] = enabledJWA.clientAuthSigningAlgValues;

/** Every failure that depends on the client, worded so it fits an unknown client too. */
const assertionNotVerifiedByClientKeys =
  'the client_assertion signature does not verify with the keys (and alg) registered for the private_key_jwt client named by sub';

/**
 * RFC 7523 §3 item 7: the hook passed, so the library's one remaining check (the jti) refused it:
 * the jti was spent, or the assertion was issued before the replay store's markers began (it may
 * have been spent in markers lost with Redis's data; oidc/assertion-replay.ts).
 */
const assertionJtiReused =
  'jti already used, or the client_assertion may predate a reset of the replay store: a client_assertion is good for one request only; sign a new one with a fresh jti and a current iat';

function headerProblems(header: Claims): string[] {
  const problems: string[] = [];
  const alg = header.alg;
  if (typeof alg !== 'string' || !allowedAssertionAlgs.includes(alg)) {
    const named = typeof alg === 'string' && /^[A-Za-z0-9_-]{1,16}$/.test(alg) ? `alg ${alg}` : 'this alg';
    problems.push(`${named} is not allowed; use one of ${enabledJWA.clientAuthSigningAlgValues.join(', ')}`);
  }
  for (const name of keyReferenceHeaders) {
    if (name in header) problems.push(`the client_assertion header must not carry ${name}`);
  }
  return problems;
}

function identityProblems(claims: Claims, policy: ClientAssertionPolicy): string[] {
  const problems: string[] = [];
  if (typeof claims.sub !== 'string' || claims.sub === '') problems.push('sub must be the client_id');
  if (typeof claims.iss !== 'string' || claims.iss === '') problems.push('iss must be the client_id');
  else if (claims.iss !== claims.sub) problems.push('iss and sub must both be the client_id');
  const allowed = policy.acceptTokenEndpointAudience ? [policy.issuer, policy.tokenEndpoint] : [policy.issuer];
  if (typeof claims.aud !== 'string' || !allowed.includes(claims.aud)) {
    const what = policy.acceptTokenEndpointAudience
      ? `the issuer identifier ${policy.issuer} or the token endpoint ${policy.tokenEndpoint}`
      : `the issuer identifier ${policy.issuer}`;
    problems.push(`aud must be ${what}, as a single string`);
  }
  if (typeof claims.jti !== 'string' || claims.jti === '') problems.push('jti is required: a unique identifier for each assertion');
  return problems;
}

function timeProblems(claims: Claims, policy: ClientAssertionPolicy, now: number): string[] {
  const problems: string[] = [];
  const { exp, iat, nbf } = claims;
  const tolerance = policy.clockTolerance;
  if (iat !== undefined && typeof iat !== 'number') problems.push('iat must be a number (seconds since the epoch)');
  if (typeof iat === 'number' && iat > now + tolerance) problems.push('iat is in the future');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + tolerance)) problems.push('nbf is in the future');
  if (typeof exp !== 'number') {
    problems.push('exp is required (a number, seconds since the epoch)');
    return problems;
  }
  // The library's expiry rule (oidc-provider/lib/helpers/jwt.js assertPayload).
  if (now - tolerance >= exp) problems.push('the client_assertion has expired');
  const issuedAt = typeof iat === 'number' ? iat : now;
  if (exp - issuedAt > policy.maxLifetime || exp - now > policy.maxLifetime + tolerance) {
    const lifetime = Math.max(exp - issuedAt, exp - now);
    problems.push(`assertion lifetime ${Number.isSafeInteger(lifetime) ? `${lifetime} s ` : ''}exceeds ${policy.maxLifetime} s`);
  }
  return problems;
}

/**
 * The client a client_assertion names (`sub`, RFC 7523 §3 item 2), read before anything is
 * verified: only to find the client whose keys verify it, or to name it in an audit record.
 */
export function unverifiedAssertionSubject(assertion: string): string | undefined {
  try {
    const { sub } = decodeJwt(assertion);
    return typeof sub === 'string' && sub !== '' ? sub : undefined;
  } catch {
    return undefined;
  }
}

function decoded(assertion: string): { claims: Claims; header: Claims } | undefined {
  try {
    return { claims: decodeJwt(assertion), header: decodeProtectedHeader(assertion) };
  } catch {
    return undefined;
  }
}

export function createClientAssertionCheck(policy: ClientAssertionPolicy): ClientAssertionCheck {
  /** Requests whose assertion passed every check but the jti (keyed by the library's ctx). */
  const passedHook = new WeakSet<object>();

  const problems = (claims: Claims, header: Claims): string[] => [
    ...headerProblems(header),
    ...identityProblems(claims, policy),
    ...timeProblems(claims, policy, Math.floor(Date.now() / 1000)),
  ];

  async function assertJwtClientAuthClaimsAndHeader(ctx: KoaContextWithOIDC, claims: Claims, header: Claims, client: { clientId: string }) {
    const found = problems(claims, header);
    if (claims.sub !== client.clientId) found.push('sub must be the client_id');
    if (found.length > 0) throw new errors.InvalidClientAuth(found.join('; '));
    // oidc-provider/lib/shared/jwt_client_auth.js: after this hook only ReplayDetection.unique can refuse, and
    // it is called next, with (iss, jti), but not told when the assertion was issued.
    passedHook.add(ctx);
    if (typeof claims.iss === 'string' && typeof claims.jti === 'string' && typeof claims.exp === 'number') {
      rememberIssuedAtMs(claims.iss, claims.jti, issuedAtMs({ ...claims, exp: claims.exp }));
    }
  }

  function issuedAtMs(claims: Claims & { exp: number }): number {
    return assertionIssuedAtMs(claims, policy);
  }

  function describeRefusal(ctx: object, assertion: string): string {
    const parts = decoded(assertion);
    if (!parts) return 'the client_assertion is not a signed JWT';
    const found = problems(parts.claims, parts.header);
    if (found.length > 0) return found.join('; ');
    return passedHook.has(ctx) ? assertionJtiReused : assertionNotVerifiedByClientKeys;
  }

  return Object.assign(assertJwtClientAuthClaimsAndHeader, { problems, describeRefusal, issuedAtMs });
}
