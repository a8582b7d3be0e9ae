import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestWindow } from '../../src/throttle/request-window.js';

describe('request window', () => {
  it('lets `limit` requests per key through in a window and says how long the rest must wait', () => {
    let now = 1_000;
    const window = new RequestWindow(2, 10_000, () => now);
    assert.equal(window.take('a'), 0);
    assert.equal(window.take('a'), 0);
    now = 4_000;
    assert.equal(window.take('a'), 7_000, 'third request: wait until the window that began at 1 000 ends');
    assert.equal(window.take('b'), 0, 'another key has its own count');
  });

  it('starts counting afresh when the window ends', () => {
    let now = 0;
    const window = new RequestWindow(1, 10_000, () => now);
    assert.equal(window.take('a'), 0);
    assert.ok(window.take('a') > 0);
    now = 10_000;
    assert.equal(window.take('a'), 0);
  });
});
