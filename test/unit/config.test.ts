// loadConfig is the only reader of the environment: defaults for an empty environment, and a
// ConfigError naming the variable for every bad value (docs/DESIGN.md "Runtime contract").
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';

function assertConfigError(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `a ConfigError for ${JSON.stringify(env)}, got ${String(error)}`);
      assert.equal(error.variable, variable);
      assert.ok(error.message.startsWith(`${variable}:`), `the message names ${variable}: ${error.message}`);
      assert.ok(!error.message.includes('\n'), 'one line');
      return true;
    },
  );
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.port, 3000);
    assert.equal(config.issuer, 'http://localhost:3000');
    assert.equal(config.production, false);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.dataDir, path.resolve('./data'));
    assert.equal(config.keysDir, path.resolve('./keys'));
    assert.equal(config.bootstrapAdmin, undefined);
    assert.equal(config.trustProxy, false);
    assert.equal(config.trustProxyHops, 1);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.redisKeyPrefix, 'portcullis:');
    assert.equal(config.adminTokenTtl, 300);
    assert.equal(config.cookieKeys, undefined);
  });

  it('returns a frozen object and never reads process.env when given an env object', () => {
    const saved = process.env.PORT;
    process.env.PORT = '4444';
    try {
      const config = loadConfig({});
      assert.equal(config.port, 3000);
      assert.ok(Object.isFrozen(config));
      assert.throws(() => {
        (config as { port: number }).port = 1;
      }, TypeError);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  it('derives the default issuer from PORT', () => {
    assert.equal(loadConfig({ PORT: '8080' }).issuer, 'http://localhost:8080');
    assert.equal(loadConfig({ PORT: '8080' }).port, 8080);
  });

  it('reads every variable it documents', () => {
    const config = loadConfig({
      PORT: '0',
      ISSUER: 'https://auth.example.test/',
      DATABASE_URL: 'postgres://user:pw@db.example.test:5432/portcullis',
      DATA_DIR: '/var/lib/portcullis',
      REDIS_URL: 'redis://cache-1:6379,redis://cache-2:6379',
      REDIS_KEY_PREFIX: 'tenant-a:',
      KEYS_DIR: 'relative/keys',
      BOOTSTRAP_ADMIN_CLIENT_ID: 'ops-admin',
      BOOTSTRAP_ADMIN_CLIENT_SECRET: 'a-long-bootstrap-secret-0123456789',
      ADMIN_TOKEN_TTL: '600',
      TRUST_PROXY: 'true',
      TRUST_PROXY_HOPS: '2',
      LOG_LEVEL: 'warn',
      COOKIE_KEYS: `${'a'.repeat(32)},${'b'.repeat(40)}`,
      NODE_ENV: 'production',
    });
    assert.equal(config.port, 0);
    assert.equal(config.issuer, 'https://auth.example.test', 'a trailing slash is dropped');
    assert.equal(config.databaseUrl, 'postgres://user:pw@db.example.test:5432/portcullis');
    assert.equal(config.dataDir, '/var/lib/portcullis');
    assert.equal(config.redisUrl, 'redis://cache-1:6379,redis://cache-2:6379');
    assert.equal(config.redisKeyPrefix, 'tenant-a:');
    assert.equal(config.keysDir, path.resolve('relative/keys'));
    assert.deepEqual(config.bootstrapAdmin, { clientId: 'ops-admin', clientSecret: 'a-long-bootstrap-secret-0123456789' });
    assert.equal(config.adminTokenTtl, 600);
    assert.equal(config.trustProxy, true);
    assert.equal(config.trustProxyHops, 2);
    assert.equal(config.logLevel, 'warn');
    assert.deepEqual(config.cookieKeys, ['a'.repeat(32), 'b'.repeat(40)]);
    assert.equal(config.production, true);
  });

  it('treats empty and blank values as unset', () => {
    const config = loadConfig({ PORT: '', ISSUER: '   ', DATABASE_URL: '', REDIS_URL: ' ', LOG_LEVEL: '' });
    assert.equal(config.port, 3000);
    assert.equal(config.issuer, 'http://localhost:3000');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.logLevel, 'info');
  });

  it('allows http issuers for loopback hosts in production', () => {
    for (const issuer of ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000']) {
      assert.equal(loadConfig({ ISSUER: issuer, NODE_ENV: 'production' }).issuer, issuer);
    }
    assert.equal(loadConfig({ ISSUER: 'https://auth.example.test', NODE_ENV: 'production' }).issuer, 'https://auth.example.test');
  });

  it('accepts a bootstrap client id without a secret (one is generated at start)', () => {
    assert.deepEqual(loadConfig({ BOOTSTRAP_ADMIN_CLIENT_ID: 'ops' }).bootstrapAdmin, { clientId: 'ops', clientSecret: undefined });
  });

  const invalid: [string, Record<string, string>][] = [
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '65536' }],
    ['PORT', { PORT: '80.5' }],
    ['PORT', { PORT: '0x50' }],
    ['ISSUER', { ISSUER: 'ftp://x' }],
    ['ISSUER', { ISSUER: 'not a url' }],
    ['ISSUER', { ISSUER: '/relative' }],
    ['ISSUER', { ISSUER: 'https://auth.example.test/?tenant=1' }],
    ['ISSUER', { ISSUER: 'https://auth.example.test/#top' }],
    ['ISSUER', { ISSUER: 'https://auth.example.test/#' }],
    ['ISSUER', { ISSUER: 'http://auth.example.test', NODE_ENV: 'production' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db.example.test/portcullis' }],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
    ['REDIS_URL', { REDIS_URL: 'http://cache.example.test' }],
    ['REDIS_URL', { REDIS_URL: 'redis://cache-1:6379,memcached://cache-2' }],
    ['REDIS_URL', { REDIS_URL: 'redis://cache-1:6379,not a url' }],
    ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'has space' }],
    ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'x'.repeat(65) }],
    ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'glob*' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'chatty' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'yes' }],
    ['TRUST_PROXY', { TRUST_PROXY: '1' }],
    ['TRUST_PROXY_HOPS', { TRUST_PROXY: 'true', TRUST_PROXY_HOPS: '0' }],
    ['TRUST_PROXY_HOPS', { TRUST_PROXY: 'true', TRUST_PROXY_HOPS: '11' }],
    ['TRUST_PROXY_HOPS', { TRUST_PROXY: 'true', TRUST_PROXY_HOPS: 'two' }],
    ['TRUST_PROXY_HOPS', { TRUST_PROXY_HOPS: '2' }],
    ['ADMIN_TOKEN_TTL', { ADMIN_TOKEN_TTL: '10' }],
    ['ADMIN_TOKEN_TTL', { ADMIN_TOKEN_TTL: '3601' }],
    ['ADMIN_TOKEN_TTL', { ADMIN_TOKEN_TTL: '5m' }],
    ['COOKIE_KEYS', { COOKIE_KEYS: 'too-short' }],
    ['COOKIE_KEYS', { COOKIE_KEYS: `${'a'.repeat(32)},short` }],
    ['BOOTSTRAP_ADMIN_CLIENT_ID', { BOOTSTRAP_ADMIN_CLIENT_SECRET: 'a-secret-without-an-id-0123456789' }],
    ['BOOTSTRAP_ADMIN_CLIENT_ID', { BOOTSTRAP_ADMIN_CLIENT_ID: 'has space' }],
    ['BOOTSTRAP_ADMIN_CLIENT_ID', { BOOTSTRAP_ADMIN_CLIENT_ID: 'x'.repeat(129) }],
    ['BOOTSTRAP_ADMIN_CLIENT_SECRET', { BOOTSTRAP_ADMIN_CLIENT_ID: 'ops', BOOTSTRAP_ADMIN_CLIENT_SECRET: 'x'.repeat(513) }],
  ];
  for (const [variable, env] of invalid) {
    it(`throws a ConfigError naming ${variable} for ${JSON.stringify(env).slice(0, 80)}`, () => {
      assertConfigError(env, variable);
    });
  }

  it('never puts a secret value into the error message', () => {
    const secret = 'a-secret-without-an-id-0123456789';
    assert.throws(
      () => loadConfig({ BOOTSTRAP_ADMIN_CLIENT_SECRET: secret }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes(secret),
    );
    const long = `s3cr3t-${'x'.repeat(600)}`;
    assert.throws(
      () => loadConfig({ BOOTSTRAP_ADMIN_CLIENT_ID: 'ops', BOOTSTRAP_ADMIN_CLIENT_SECRET: long }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes(long),
    );
    const cookie = 'short-cookie-key';
    assert.throws(
      () => loadConfig({ COOKIE_KEYS: cookie }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes(cookie),
    );
  });
});
