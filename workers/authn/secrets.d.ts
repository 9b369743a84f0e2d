// Secrets are not in wrangler.toml, so `wrangler types` cannot see them.
interface AuthnEnv {
  /** Better Auth's signing/encryption secret for cookies and tokens. */
  BETTER_AUTH_SECRET: string;
  /** The HTTP email API's key; only with MAIL_TRANSPORT = "http". */
  MAIL_API_KEY?: string;
  /** The HTTP email API's endpoint (a var, set only with MAIL_TRANSPORT = "http"). */
  MAIL_API_URL?: string;
  /** Cloudflare Email Service's send_email binding; only with MAIL_TRANSPORT = "cloudflare". */
  EMAIL?: SendEmail;
  /** A shorter limit (ms) on each fetch to an org's SSO IdP than the 10 s default (a var, unset in wrangler.toml). */
  SSO_UPSTREAM_TIMEOUT_MS?: string;
}
declare namespace Cloudflare {
  interface Env {
    BETTER_AUTH_SECRET: string;
    MAIL_API_KEY?: string;
    MAIL_API_URL?: string;
    EMAIL?: SendEmail;
    SSO_UPSTREAM_TIMEOUT_MS?: string;
  }
}
