// /metrics: Prometheus text with requests, latency, tokens per grant, logins, throttling, store
// latency and cache hit counts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminClientId, adminClientSecret, createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';
import { basicAuth } from '../helpers/admin.js';

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    if (wanted.every((label) => labelText.split(',').includes(label))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe(`metrics (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  before(async () => {
    env = await createTestEnvironment();
    server = await env.start();
  });
  after(() => env.cleanup());

  it('exposes request, token, store and cache metrics in the Prometheus format', async () => {
    for (let i = 0; i < 5; i += 1) {
      const response = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { authorization: basicAuth(adminClientId, adminClientSecret) },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }),
      });
      assert.equal(response.status, 200);
    }
    await fetch(`${server.url}/admin/clients/nobody`, { headers: { authorization: 'Bearer nothing' } });
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200, 'readiness pings the store');
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.ok((sample(text, 'portcullis_tokens_issued_total', { grant_type: 'client_credentials' }) ?? 0) >= 5);
    assert.ok((sample(text, 'portcullis_http_request_duration_seconds_count', { route: '/token', method: 'POST', status: '200' }) ?? 0) >= 5);
    assert.ok((sample(text, 'portcullis_http_request_duration_seconds_count', { route: '/admin/clients/:id', method: 'GET', status: '401' }) ?? 0) >= 1, 'ids are not labels');
    assert.ok(sample(text, 'portcullis_http_request_duration_seconds_bucket', { route: '/token', le: '+Inf' }) !== undefined);
    assert.ok((sample(text, 'portcullis_cache_lookups_total', { cache: 'clients', result: 'hit' }) ?? 0) >= 1);
    assert.match(text, /portcullis_store_operation_duration_seconds_bucket\{/);
    assert.match(text, /portcullis_process_resident_memory_bytes/);
    assert.ok(!text.includes(adminClientSecret));
  });
});
