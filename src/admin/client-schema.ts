// RFC 7591 §2 client metadata accepted by the admin API. Unknown fields are refused, so a typo
// never silently registers a client that behaves differently from what the admin meant.
import { z } from 'zod';
import type { EncryptionAlgValues, EncryptionEncValues } from 'oidc-provider';
import { scopeTokenSource } from '../tokens/scopes.js';
import { responseEncryptionAlgs, responseEncryptionEncs } from '../oidc/config/client-auth.js';

const supportedGrantTypes = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:token-exchange',
] as const;
export const secretAuthMethods: ReadonlySet<string> = new Set(['client_secret_basic', 'client_secret_post']);

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const scopeString = z
  .string()
  .max(2048)
  .regex(new RegExp(`^${scopeTokenSource}+( ${scopeTokenSource}+)*$`), 'must be space-separated scope tokens');

const url = z.string().max(2048);
const jwk = z.record(z.string(), z.unknown());

export const clientIdPattern = /^[A-Za-z0-9._~-]{1,128}$/;

export const clientMetadataSchema = z.strictObject({
  client_id: z.string().regex(clientIdPattern, 'must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -').optional(),
  client_name: z.string().min(1).max(256).optional(),
  redirect_uris: z.array(url).max(100).optional(),
  post_logout_redirect_uris: z.array(url).max(100).optional(),
  grant_types: z.array(z.enum(supportedGrantTypes)).min(1).max(10).optional(),
  response_types: z.array(z.literal('code')).max(1).optional(),
  token_endpoint_auth_method: z.enum(['private_key_jwt', 'client_secret_basic', 'client_secret_post', 'none']).optional(),
  token_endpoint_auth_signing_alg: z.string().max(16).optional(),
  jwks: z.strictObject({ keys: z.array(jwk).min(1).max(20) }).optional(),
  jwks_uri: url.optional(),
  scope: scopeString.optional(),
  application_type: z.enum(['web', 'native']).optional(),
  client_uri: url.optional(),
  logo_uri: url.optional(),
  policy_uri: url.optional(),
  tos_uri: url.optional(),
  contacts: z.array(z.string().max(256)).max(20).optional(),
  id_token_signed_response_alg: z.enum(['RS256', 'ES256']).optional(),
  default_max_age: z.number().int().min(0).max(31_536_000).optional(),
  require_auth_time: z.boolean().optional(),
  /** RFC 9449 §5.2: every access token of this client is DPoP-bound; no token without a proof. */
  dpop_bound_access_tokens: z.boolean().optional(),
  /** RFC 9701 §6: introspection answers as a JWT signed with this alg (asked with Accept: application/token-introspection+jwt). */
  introspection_signed_response_alg: z.enum(['RS256', 'ES256']).optional(),
  /** RFC 9701 §6: and encrypted to one of the client's `jwks` keys (`use: enc`). */
  introspection_encrypted_response_alg: z.enum(responseEncryptionAlgs as [EncryptionAlgValues, ...EncryptionAlgValues[]]).optional(),
  introspection_encrypted_response_enc: z.enum(responseEncryptionEncs as [EncryptionEncValues, ...EncryptionEncValues[]]).optional(),
  /** Ours: an application of this organisation; its users are not asked for consent. */
  first_party: z.boolean().optional(),
  /** Ours: every user of this client signs in with a second factor. */
  require_mfa: z.boolean().optional(),
});

export type ClientMetadataInput = z.infer<typeof clientMetadataSchema>;

/** The first problem of a failed parse as one readable sentence. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const where = issue.path.length ? issue.path.join('.') : 'body';
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
  return `${where}: ${issue.message}`;
}
