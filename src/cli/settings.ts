// Where the CLI connects and as whom: flags first, then PORTCULLIS_* environment variables,
// then defaults. A token wins over client credentials given the same way.
import type { Connection } from './admin-client.js';
import type { OptionValues } from './command.js';
import { UsageError } from './errors.js';

const defaultIssuer = 'http://localhost:3000';
const outputFormats = ['json', 'table'] as const;
export type OutputFormat = (typeof outputFormats)[number];

type Env = Readonly<Record<string, string | undefined>>;

function readIssuer(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`the issuer "${value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`the issuer "${value}" is not an http(s) URL`);
  }
  if (url.search || url.hash) throw new UsageError(`the issuer "${value}" must not have a query or fragment`);
  return url.href.replace(/\/+$/, '');
}

function readCredentials(clientId: string | undefined, clientSecret: string | undefined): Connection['credentials'] {
  if (!clientId && !clientSecret) return undefined;
  if (!clientId) throw new UsageError('a client secret needs a client id (--client-id or PORTCULLIS_CLIENT_ID)');
  if (!clientSecret) throw new UsageError('a client id needs a client secret (PORTCULLIS_CLIENT_SECRET)');
  return { clientId, clientSecret };
}

export function resolveConnection(globals: OptionValues, env: Env): Connection {
  const issuer = readIssuer(globals.string('issuer') ?? (env.PORTCULLIS_ISSUER || defaultIssuer));
  const flagToken = globals.string('token');
  if (flagToken) return { issuer, token: flagToken };
  const flagId = globals.string('client-id');
  const flagSecret = globals.string('client-secret');
  if (flagId || flagSecret) {
    const credentials = readCredentials(flagId ?? env.PORTCULLIS_CLIENT_ID, flagSecret ?? env.PORTCULLIS_CLIENT_SECRET);
    return { issuer, credentials };
  }
  if (env.PORTCULLIS_ADMIN_TOKEN) return { issuer, token: env.PORTCULLIS_ADMIN_TOKEN };
  const credentials = readCredentials(env.PORTCULLIS_CLIENT_ID || undefined, env.PORTCULLIS_CLIENT_SECRET || undefined);
  if (!credentials) {
    throw new UsageError(
      'no admin credentials: set PORTCULLIS_ADMIN_TOKEN, or PORTCULLIS_CLIENT_ID and PORTCULLIS_CLIENT_SECRET',
    );
  }
  return { issuer, credentials };
}

export function resolveOutputFormat(globals: OptionValues): OutputFormat {
  const value = globals.string('output') ?? 'json';
  if (!(outputFormats as readonly string[]).includes(value)) {
    throw new UsageError(`--output must be one of ${outputFormats.join(', ')}, not "${value}"`);
  }
  return value as OutputFormat;
}
