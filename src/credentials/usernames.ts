// Usernames are compared in one normalised form everywhere: the lookup at login, the unique
// key at creation and the login throttle's key. Normalising in one place (not SQL's lower() in
// one spot and JavaScript's in another) is what keeps a look-alike spelling from being a fresh
// throttle counter for the same account.
//
// The form: Unicode NFKC (compatibility characters such as fullwidth letters become their plain
// forms), then one case fold (upper then lower, so "ß" and "SS" agree), then NFKC again because
// case mapping can un-normalise (UAX #15, "Stability"; the approach of RFC 8265's
// UsernameCaseMapped profile). Surrounding white space is not part of a username.

/** The one comparable form of a username. */
export function normalizeUsername(raw: string): string {
  return raw.trim().normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

/**
 * A coarser form used only to refuse look-alike duplicates at creation: the normalised form
 * without combining marks, so "İris" (I with a dot above) and "iris" collide. Never used to
 * find an account, so a look-alike can neither sign in as nor lock out someone else.
 */
export function usernameLookalikeKey(raw: string): string {
  return normalizeUsername(raw).normalize('NFD').replace(/\p{M}+/gu, '').normalize('NFKC');
}
