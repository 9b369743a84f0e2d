// Secrets are not in wrangler.toml, so `wrangler types` cannot see them.
interface AuthnEnv {
  /** Better Auth's signing/encryption secret for cookies and tokens. */
  BETTER_AUTH_SECRET: string;
}
declare namespace Cloudflare {
  interface Env {
    BETTER_AUTH_SECRET: string;
  }
}
