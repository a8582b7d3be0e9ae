// Keys the published oidc-provider types (@types/oidc-provider) lack.
import 'oidc-provider';

declare module 'oidc-provider' {
  interface Provider {
    /**
     * A Provider is a Koa application: Koa emits 'error' for an error no middleware handled
     * (koa/lib/application.js onerror). The typed overloads list only the library's own events.
     */
    on(event: 'error', listener: (error: unknown) => void): this;
  }
}
