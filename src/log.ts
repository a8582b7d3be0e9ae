// JSON logs through pino. Secrets never reach a log line: every header, body field and token
// we know of is redacted at the logger, so a careless `log.info({ req })` cannot leak one.
import { pino, type Logger } from 'pino';

export type { Logger };

const redactedPaths = [
  'authorization',
  'cookie',
  'password',
  'client_secret',
  'clientSecret',
  'client_assertion',
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'code_verifier',
  'subject_token',
  'actor_token',
  'token',
  '*.authorization',
  '*.cookie',
  '*.password',
  '*.client_secret',
  '*.clientSecret',
  '*.client_assertion',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.code_verifier',
  '*.subject_token',
  '*.actor_token',
  '*.token',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'portcullis', pid: process.pid },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
