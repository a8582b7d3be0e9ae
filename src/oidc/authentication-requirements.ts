// What authentication an authorization request needs, and whether a session already has it.
// One rule, asked in two places: the interaction policy (may the existing session answer this
// request, or must the user step up?) and the login pages (after the password, is a second factor
// needed?). Later "security tiers" add their demands here.
//
// Asked a third time at the token endpoint: a refresh token carries the authentication it was
// issued for (acr, amr, auth_time), and a requirement added later must hold for it too
// (config/refresh-step-up.ts).
//
// Inputs: the client's `require_mfa` metadata, the user's `mfa_required` flag, the request's
// `acr_values` (OIDC Core §3.1.2.1; RFC 9470 uses them, with `max_age`, to ask for step-up), the
// `acr` member of its `claims` parameter's `id_token` (OIDC Core §5.5.1.1) and `max_age` (OIDC
// Core §3.1.2.1: the authentication must be no older than this).

/** Authentication context classes this server issues (the ID token's `acr`, OIDC Core §2). */
export const acr = { password: 'urn:portcullis:acr:pwd', mfa: 'urn:portcullis:acr:mfa' } as const;

/** What discovery advertises as `acr_values_supported`, weakest first. */
export const acrValuesSupported: readonly string[] = [acr.password, acr.mfa];

export type AuthenticationLevel = 'password' | 'mfa';

/** Why a level is demanded (for logs, audit and the page's wording). */
export type RequirementSource = 'client' | 'user' | 'acr_values' | 'claims';

export interface AuthenticationRequirement {
  level: AuthenticationLevel;
  /** Who demands the second factor; empty when a password is enough. */
  sources: readonly RequirementSource[];
  /** Seconds: the authentication must be at most this old (`max_age`); undefined for no limit. */
  maxAgeSeconds: number | undefined;
}

export interface RequestFacts {
  /** The client's `require_mfa` metadata is true. */
  clientRequiresMfa: boolean;
  /** The user's `mfa_required` flag (undefined before the user is known). */
  userRequiresMfa: boolean | undefined;
  /** The request's `acr_values`: space-separated, in order of preference. */
  acrValues: string | undefined;
  /**
   * The request's `claims` parameter (its JSON text, as the authorization parameters hold it):
   * `id_token.acr.value` or `.values` ask for classes as `acr_values` do. Absent while the
   * claims parameter is not enabled.
   */
  claims?: string | undefined;
  /** The request's `max_age`, in seconds. */
  maxAge: number | string | undefined;
}

export interface SessionAuthentication {
  acr: string | undefined;
  amr: readonly string[] | undefined;
  /** When the session last authenticated (epoch seconds; `auth_time`). */
  authTime: number | undefined;
}

export type Assessment =
  | { satisfied: true }
  /** The password part stands, only the second factor is missing: step up. */
  | { satisfied: false; shortfall: 'second_factor' }
  /** Sign in again from the start: the authentication is older than `max_age`, or it is not
   *  known when it happened (`unknown_time`: nothing can be said about its age, so it is not
   *  trusted). */
  | { satisfied: false; shortfall: 'reauthenticate'; cause: 'max_age' | 'unknown_time' };

/** RFC 8176 methods that count as a second factor on top of the password. */
const secondFactorMethods = new Set(['otp', 'mfa', 'hwk', 'swk']);

/**
 * The level a list of acceptable classes asks for: the weakest of the values we know (any of them
 * is acceptable to the client). Values we do not issue are ignored: `acr_values` are voluntary
 * claims (OIDC Core §5.5.1.1), so an unknown class neither fails the request nor raises the bar.
 */
function levelFromClasses(classes: readonly unknown[]): AuthenticationLevel | undefined {
  const known = classes.filter((value): value is string => typeof value === 'string' && acrValuesSupported.includes(value));
  if (known.length === 0) return undefined;
  return known.includes(acr.password) ? 'password' : 'mfa';
}

/**
 * The classes the `claims` parameter asks for in the ID token's `acr` (OIDC Core §5.5.1):
 * `{"value": …}` or `{"values": […]}`, essential or voluntary alike. The library has already
 * refused a claims parameter that is not a JSON object (oidc-provider/lib/actions/authorization/claims.js);
 * anything else unreadable asks for nothing here.
 */
function classesFromClaims(claims: string | undefined): readonly unknown[] {
  if (claims === undefined || claims === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(claims);
  } catch {
    return [];
  }
  const request = (parsed as { id_token?: { acr?: { value?: unknown; values?: unknown } | null } } | null)?.id_token?.acr;
  if (!request || typeof request !== 'object') return [];
  if (Array.isArray(request.values)) return request.values;
  return request.value === undefined ? [] : [request.value];
}

function parseMaxAge(maxAge: number | string | undefined): number | undefined {
  if (maxAge === undefined || maxAge === '') return undefined;
  const seconds = Number(maxAge);
  return Number.isSafeInteger(seconds) && seconds >= 0 ? seconds : undefined;
}

const textParameter = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * What an authorization request itself asks for, from its parameters (the provider's
 * `ctx.oidc.params`, or an interaction's `params`, which hold the same values).
 */
export function requestedByParameters(params: Readonly<Record<string, unknown>>): Pick<RequestFacts, 'acrValues' | 'claims' | 'maxAge'> {
  const maxAge = params.max_age;
  return {
    acrValues: textParameter(params.acr_values),
    claims: textParameter(params.claims),
    maxAge: typeof maxAge === 'number' || typeof maxAge === 'string' ? maxAge : undefined,
  };
}

/** What this request needs from the user's authentication. */
export function requiredAuthentication(facts: RequestFacts): AuthenticationRequirement {
  const sources: RequirementSource[] = [];
  if (facts.clientRequiresMfa) sources.push('client');
  if (facts.userRequiresMfa === true) sources.push('user');
  if (levelFromClasses((facts.acrValues ?? '').split(' ')) === 'mfa') sources.push('acr_values');
  if (levelFromClasses(classesFromClaims(facts.claims)) === 'mfa') sources.push('claims');
  return { level: sources.length ? 'mfa' : 'password', sources, maxAgeSeconds: parseMaxAge(facts.maxAge) };
}

/** The level an authentication reached, from its amr (RFC 8176) and acr. */
export function authenticationLevel(authentication: Pick<SessionAuthentication, 'acr' | 'amr'>): AuthenticationLevel {
  if (authentication.acr === acr.mfa) return 'mfa';
  return (authentication.amr ?? []).some((method) => secondFactorMethods.has(method)) ? 'mfa' : 'password';
}

/** The acr and amr-derived level to record for a login that used these methods. */
export function acrFor(level: AuthenticationLevel): string {
  return level === 'mfa' ? acr.mfa : acr.password;
}

/** Whether a session's authentication meets a requirement, and if not, what is missing. */
export function assessSession(
  session: SessionAuthentication,
  requirement: AuthenticationRequirement,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Assessment {
  if (session.authTime === undefined) return { satisfied: false, shortfall: 'reauthenticate', cause: 'unknown_time' };
  if (requirement.maxAgeSeconds !== undefined && nowSeconds - session.authTime > requirement.maxAgeSeconds) {
    return { satisfied: false, shortfall: 'reauthenticate', cause: 'max_age' };
  }
  if (requirement.level === 'mfa' && authenticationLevel(session) !== 'mfa') {
    return { satisfied: false, shortfall: 'second_factor' };
  }
  return { satisfied: true };
}
