// Which path answered a token or introspection request: the fast path (src/oidc/fast-path) or
// oidc-provider, read from the server's own count of the requests the fast path served.

/** portcullis_token_fast_path_requests_total{endpoint, outcome="served"} of the server at url. */
export async function fastPathServedCount(url: string, endpoint: 'token' | 'introspection'): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((entry) => entry.startsWith('portcullis_token_fast_path_requests_total{') && entry.includes(`endpoint="${endpoint}"`) && entry.includes('outcome="served"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
