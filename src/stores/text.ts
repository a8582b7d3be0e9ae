// Postgres text cannot hold U+0000, so a query parameter carrying one fails. No stored
// identifier, name or token can contain it: such a value is simply not found. Callers check
// with `isStorableText` (or catch InvalidTextParameterError) and answer "unknown" or 400.
export class InvalidTextParameterError extends Error {
  readonly code = 'ERR_INVALID_TEXT_PARAMETER';
  constructor() {
    super('text must not contain NUL characters');
    this.name = 'InvalidTextParameterError';
  }
}

export function isStorableText(value: string): boolean {
  return !value.includes('\u0000');
}

/** Throws before a query is sent if a text parameter cannot be stored or compared. */
export function assertStorableParams(params: readonly unknown[]): void {
  for (const param of params) {
    if (typeof param === 'string' && !isStorableText(param)) throw new InvalidTextParameterError();
    if (Array.isArray(param)) assertStorableParams(param);
  }
}

/** True for JSON input holding strings we refuse: NUL characters or unpaired surrogates. */
export function hasUnsafeStrings(value: unknown, depth = 0): boolean {
  if (depth > 64) return true;
  if (typeof value === 'string') return !isStorableText(value) || !value.isWellFormed();
  if (Array.isArray(value)) return value.some((item) => hasUnsafeStrings(item, depth + 1));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, item]) => hasUnsafeStrings(key, depth + 1) || hasUnsafeStrings(item, depth + 1));
  }
  return false;
}
