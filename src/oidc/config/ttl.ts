// Lifetimes in seconds. Access tokens for an API take the API's TTL from getResourceServerInfo;
// these are the fallbacks and the lifetimes of everything else.
import type { KoaContextWithOIDC } from 'oidc-provider';

type TokenWithResource = { resourceServer?: { accessTokenTTL?: number } };

/** An API's TTL when the token is for an API, else 10 minutes (userinfo-only tokens). */
function accessTokenTtl(_ctx: KoaContextWithOIDC, token: TokenWithResource): number {
  return token.resourceServer?.accessTokenTTL ?? 10 * 60;
}

export const ttl = {
  AccessToken: accessTokenTtl,
  ClientCredentials: accessTokenTtl,
  /** 60 s: RFC 9700 §4.2.4 asks for short-lived codes. */
  AuthorizationCode: 60,
  /** 1 hour. */
  IdToken: 60 * 60,
  /** 1 hour to finish a login. */
  Interaction: 60 * 60,
  /** 14 days. */
  Session: 14 * 24 * 60 * 60,
  /** 14 days; a grant lives as long as its longest refresh token. */
  Grant: 14 * 24 * 60 * 60,
  /** 14 days, rotated on every use. */
  RefreshToken: 14 * 24 * 60 * 60,
  /** 10 minutes. */
  DeviceCode: 10 * 60,
  /** 10 minutes. */
  BackchannelAuthenticationRequest: 10 * 60,
};
