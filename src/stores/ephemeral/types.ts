// The short-lived store behind oidc-provider's adapter (every model except Client), plus the
// atomic primitives the protocol needs. Implemented by redis.ts and postgres.ts; both run the
// one contract suite in test/contract/ephemeral-store.test.ts.
//
// Reference semantics: oidc-provider's oidc-provider/lib/adapters/memory_adapter.js — grant membership
// de-duplicated, index keys removed on destroy, a grant index lives as long as its longest
// member, and consuming never re-creates an expired record.

export type Payload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
};

/** Models whose records join their grant's index, so revokeByGrantId can find them. */
export const grantableModels: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/** Used when oidc-provider passes no expiry: every record still expires (14 days, in seconds). */
export const maxRecordLifetime = 14 * 24 * 60 * 60;

/** What consumeOnce did; anything but 'consumed' is a refusal. */
export type OneTimeUse = 'consumed' | 'replayed' | 'predates-store';

export interface EphemeralStore {
  readonly kind: 'redis' | 'postgres';
  /** Creates or replaces a record that expires after expiresIn seconds (maxRecordLifetime if not given). */
  upsert(model: string, id: string, payload: Payload, expiresIn?: number): Promise<void>;
  /** The record, with `consumed` (epoch seconds) once consumed; undefined if missing or expired. */
  find(model: string, id: string): Promise<Payload | undefined>;
  /** Looks a record up by its payload's `uid` (sessions). */
  findByUid(model: string, uid: string): Promise<Payload | undefined>;
  /** Looks a record up by its payload's `userCode` (device flow). */
  findByUserCode(model: string, userCode: string): Promise<Payload | undefined>;
  /**
   * Marks a record consumed, atomically. True for the one caller that consumed it; false when it
   * was already consumed, is missing or has expired (it is never re-created).
   */
  consume(model: string, id: string): Promise<boolean>;
  /** Removes a record and its uid / userCode / grant index entries. */
  destroy(model: string, id: string): Promise<void>;
  /** Removes every grantable record of the grant, in every model, and the grant index. */
  revokeByGrantId(grantId: string): Promise<void>;
  /**
   * Spends a one-time marker (a client assertion's or DPoP proof's `jti`: RFC 7523 §3 item 7,
   * RFC 9449 §11.1), atomically: 'consumed' for the one caller that spent it, kept for
   * expiresIn seconds; 'replayed' while it is kept. 'predates-store' when the credential was
   * issued (`issuedAtMs`, ms since the epoch: the earliest moment it could have been accepted)
   * before the store's current generation of markers began, so a marker for it may have been lost
   * with the store's data (Redis flushed, or replaced by an empty or older copy): it must be
   * refused as a replay would be. A store whose markers are durable never answers that.
   */
  consumeOnce(model: string, id: string, expiresIn: number, issuedAtMs: number): Promise<OneTimeUse>;
  /**
   * Throws if the store cannot be reached (readiness). The Redis store also starts a marker
   * generation here if none is current, so one begins before traffic does (see redis.ts).
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}
