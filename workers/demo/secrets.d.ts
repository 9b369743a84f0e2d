// Secrets are not in wrangler.toml, so `wrangler types` cannot see them.
interface DemoEnv {
  /**
   * The gateway's public assertion keys as a JWKS (what ENDPOINT.gatewayJwks
   * serves); pinned, so a request is trusted only with an assertion they verify.
   */
  GATEWAY_ASSERTION_JWKS: string;
}
declare namespace Cloudflare {
  interface Env {
    GATEWAY_ASSERTION_JWKS: string;
  }
}
