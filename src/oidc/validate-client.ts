// Runs client metadata through oidc-provider's own client schema, so the admin API refuses
// exactly what the provider would refuse later, with the RFC 7591 §3.2.2 error code it chose.
import type Provider from 'oidc-provider';
import { HttpError } from '../http/errors.js';
import { toProviderClientMetadata } from './client-metadata.js';
import type { ClientMetadata } from '../stores/clients.js';

export async function validateClientMetadata(provider: Provider, metadata: ClientMetadata, secretDigest: string | undefined): Promise<void> {
  try {
    await provider.Client.validate(toProviderClientMetadata({ metadata, secretDigest }));
  } catch (error) {
    const { error: code, error_description: description } = error as { error?: string; error_description?: string };
    if (code === 'invalid_redirect_uri' || code === 'invalid_client_metadata') {
      throw new HttpError(400, code, description ?? code);
    }
    throw error;
  }
}
