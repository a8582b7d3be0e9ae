// Reading the parameters of a token request as the library assembled them (a repeated parameter
// is an array): once, several times, or required; an empty value counts as absent.
import { errors } from 'oidc-provider';

export type Params = Record<string, string | string[] | undefined>;

export function single(params: Params, name: string): string | undefined {
  const value = params[name];
  if (Array.isArray(value)) throw new errors.InvalidRequest(`${name} must be given once`);
  return value === '' ? undefined : value;
}

export function list(params: Params, name: string): string[] {
  const value = params[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

export function required(params: Params, name: string): string {
  const value = single(params, name);
  if (!value) throw new errors.InvalidRequest(`missing required parameter '${name}'`);
  return value;
}
