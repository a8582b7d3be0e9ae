// Redirect URI rules beyond the library's (RFC 9700 §2.1 and §4.1.3, RFC 8252 §7):
// - absolute, no fragment, no user info, no wildcard: matched exactly, character for character;
// - web applications use https; http only on a loopback host (local development);
// - native applications use a loopback http URI (any port at run time) or a private-use scheme
//   with a reverse-domain name (com.example.app:/callback), or https;
// - never javascript:, data:, vbscript:, file: or other schemes a browser would execute.
const executableSchemes = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Why this redirect URI is refused, or undefined when it is fine. */
export function redirectUriProblem(value: string, applicationType: 'web' | 'native'): string | undefined {
  if (/\s/.test(value)) return 'must not contain white space';
  if (value.includes('*')) return 'must not contain wildcards';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URI';
  }
  if (value.includes('#')) return 'must not contain a fragment';
  if (executableSchemes.has(url.protocol)) return `must not use the ${url.protocol} scheme`;
  if (url.username || url.password) return 'must not contain user information';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname) ? undefined : 'must use https (http only on a loopback host)';
  }
  if (applicationType === 'native' && /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol)) return undefined;
  return applicationType === 'native'
    ? 'must be https, http on a loopback host, or a private-use scheme such as com.example.app:/callback'
    : 'must use https';
}
