// Bindings the in-runtime test projects add on top of each Worker's own.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_AUDIT_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** The audit database (bound by the token Worker; tests that read audit rows bind it too). */
    AUDIT_DB: D1Database;
    /** The demo service's pinned gateway keys (test/support/secrets.ts), bound to every test Worker. */
    GATEWAY_ASSERTION_JWKS: string;
  }
}
