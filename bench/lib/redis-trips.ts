// Redis round trips per operation, counted with MONITOR while a few operations run one after
// another (outside the measured runs: MONITOR slows Redis down). MONITOR shows every command a
// client sends, and the commands scripts run inside Redis tagged `lua`: a round trip is a client
// command, and the script-internal ones are counted apart. Portcullis' connections are the ones
// that touch keys under the run's prefix; other clients of a shared Redis are left out.
import { Redis } from 'ioredis';

export interface RedisTrips {
  operations: number;
  /** Commands Portcullis sent per operation (EVALSHA counts once). */
  roundTripsPerOp: number;
  /** Commands run inside scripts per operation. */
  scriptCommandsPerOp: number;
  /** Client commands by name, per operation. */
  byCommand: Record<string, number>;
}

export async function countRedisTrips(redisUrl: string, prefix: string, operations: number, operate: () => Promise<void>): Promise<RedisTrips> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const seen: { source: string; command: string; ours: boolean }[] = [];
  try {
    const monitor = await redis.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      seen.push({ source, command: String(args[0]).toLowerCase(), ours: args.some((arg) => String(arg).includes(prefix)) });
    });
    try {
      // Let MONITOR settle, then run the operations one by one.
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let index = 0; index < operations; index += 1) await operate();
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      monitor.disconnect();
    }
  } finally {
    redis.disconnect();
  }
  // Portcullis' connections: those that sent a command naming a key under our prefix.
  const clients = new Set(seen.filter((entry) => entry.source !== 'lua' && entry.ours).map((entry) => entry.source));
  const byCommand: Record<string, number> = {};
  let trips = 0;
  let inScripts = 0;
  let lastClientWasOurs = false;
  for (const entry of seen) {
    if (entry.source === 'lua') {
      // Script commands follow the EVALSHA that ran them.
      if (lastClientWasOurs) inScripts += 1;
      continue;
    }
    lastClientWasOurs = clients.has(entry.source);
    if (!lastClientWasOurs) continue;
    trips += 1;
    byCommand[entry.command] = (byCommand[entry.command] ?? 0) + 1;
  }
  const per = (value: number) => value / Math.max(1, operations);
  return {
    operations,
    roundTripsPerOp: per(trips),
    scriptCommandsPerOp: per(inScripts),
    byCommand: Object.fromEntries(Object.entries(byCommand).map(([name, count]) => [name, per(count)])),
  };
}
