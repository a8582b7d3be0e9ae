// The ceiling password logins cannot pass on this machine: argon2id verifications per second at
// Portcullis' parameters (src/credentials/passwords.ts: m=19456 KiB, t=2, p=1), measured in this
// process while the servers idle, with as many verifications in flight as libuv has threads
// (argon2 runs on the threadpool), which keeps every core busy.
import argon2 from 'argon2';
import { passwordHashOptions } from '../../src/credentials/passwords.js';

// The server's own parameters, so the ceiling follows them if they change.
const argon2Parameters = passwordHashOptions;

export interface Argon2Limit {
  parameters: { memoryCost: number; timeCost: number; parallelism: number };
  concurrency: number;
  verifyPerSecond: number;
  hashPerSecond: number;
  verifyMeanMs: number;
  /** CPU time of one verification (all threads of this process), ms. */
  verifyCpuMs: number;
  seconds: number;
}

async function loop(seconds: number, concurrency: number, task: () => Promise<unknown>): Promise<{ count: number; elapsed: number; busyMs: number }> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let count = 0;
  let busyMs = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const begun = performance.now();
        await task();
        busyMs += performance.now() - begun;
        count += 1;
      }
    }),
  );
  return { count, elapsed: (performance.now() - started) / 1000, busyMs };
}

export async function measureArgon2Limit(seconds: number): Promise<Argon2Limit> {
  const concurrency = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const password = 'bench password, long enough';
  const hash = await argon2.hash(password, argon2Parameters);
  // One short warm-up so the first allocation of the 19 MiB blocks is not counted.
  await loop(0.5, concurrency, () => argon2.verify(hash, password));
  const cpuBefore = process.cpuUsage();
  const verify = await loop(seconds, concurrency, () => argon2.verify(hash, password));
  const cpu = process.cpuUsage(cpuBefore);
  const hashing = await loop(Math.max(1, seconds / 3), concurrency, () => argon2.hash(password, argon2Parameters));
  return {
    parameters: { memoryCost: argon2Parameters.memoryCost, timeCost: argon2Parameters.timeCost, parallelism: argon2Parameters.parallelism },
    concurrency,
    verifyPerSecond: verify.count / verify.elapsed,
    hashPerSecond: hashing.count / hashing.elapsed,
    verifyMeanMs: verify.busyMs / Math.max(1, verify.count),
    verifyCpuMs: (cpu.user + cpu.system) / 1000 / Math.max(1, verify.count),
    seconds: verify.elapsed,
  };
}
