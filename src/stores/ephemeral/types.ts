// The short-lived store behind oidc-provider's adapter (every model except Client), plus the
// atomic primitives the protocol needs. Implemented by redis.ts and postgres.ts; both run the
// one contract suite in test/contract/ephemeral-store.test.ts.
//
// Reference semantics: oidc-provider's lib/adapters/memory_adapter.js — grant membership
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
   * Creates the record only if none exists (SET NX). True when this call created it.
   * Used for one-time markers such as client assertion `jti`s and DPoP proofs.
   */
  insertIfAbsent(model: string, id: string, payload: Payload, expiresIn: number): Promise<boolean>;
  /** Throws if the store cannot be reached (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
