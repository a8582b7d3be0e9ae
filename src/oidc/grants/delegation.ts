// RFC 8693 §4.1 delegation chains: the newest actor on top, earlier actors nested inside.
export interface ActClaim {
  sub: string;
  act?: ActClaim;
}

export function isActClaim(value: unknown): value is ActClaim {
  if (typeof value !== 'object' || value === null) return false;
  const { sub, act } = value as { sub?: unknown; act?: unknown };
  return typeof sub === 'string' && (act === undefined || isActClaim(act));
}

/** How many actors a chain holds (0 for a token nobody acts on). */
export function chainDepth(act: ActClaim | undefined): number {
  return act ? 1 + chainDepth(act.act) : 0;
}

export function addActor(actor: string, previous: ActClaim | undefined): ActClaim {
  return previous ? { sub: actor, act: previous } : { sub: actor };
}

/** The actors from newest to oldest, for logs and the audit trail. */
export function chainOf(act: ActClaim | undefined): string[] {
  return act ? [act.sub, ...chainOf(act.act)] : [];
}
