// Secrets are not in wrangler.toml, so `wrangler types` cannot see them.
interface GatewayEnv {
  /** Derives the key that signs gateway assertions (shared/gateway-assertion/signing-key.ts). */
  GATEWAY_ASSERTION_KEY: string;
}
declare namespace Cloudflare {
  interface Env {
    GATEWAY_ASSERTION_KEY: string;
  }
}
