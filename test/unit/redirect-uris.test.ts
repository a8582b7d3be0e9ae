// Redirect URI rules (RFC 9700 §2.1, §4.1.3; RFC 8252 §7).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redirectUriProblem } from '../../src/admin/redirect-uris.js';

describe('redirect URI rules', () => {
  const accepted: [string, 'web' | 'native'][] = [
    ['https://app.example.com/callback', 'web'],
    ['https://app.example.com/callback?tenant=a', 'web'],
    ['http://localhost:8080/callback', 'web'],
    ['http://127.0.0.1/callback', 'native'],
    ['http://[::1]/callback', 'native'],
    ['com.example.app:/callback', 'native'],
    ['https://app.example.com/native', 'native'],
  ];
  for (const [uri, type] of accepted) {
    it(`accepts ${uri} for a ${type} app`, () => assert.equal(redirectUriProblem(uri, type), undefined));
  }
  const refused: [string, 'web' | 'native', RegExp][] = [
    ['http://app.example.com/callback', 'web', /https/],
    ['https://app.example.com/callback#frag', 'web', /fragment/],
    ['https://*.example.com/callback', 'web', /wildcard/],
    ['javascript:alert(1)', 'web', /javascript/],
    ['data:text/html,hi', 'native', /data/],
    ['https://user:pass@app.example.com/cb', 'web', /user information/],
    ['com.example.app:/callback', 'web', /https/],
    ['myapp:/callback', 'native', /private-use/],
    ['/relative/callback', 'web', /absolute/],
    ['https://app.example.com/call back', 'web', /white space/],
  ];
  for (const [uri, type, reason] of refused) {
    it(`refuses ${uri} for a ${type} app`, () => assert.match(redirectUriProblem(uri, type) ?? '', reason));
  }
});
