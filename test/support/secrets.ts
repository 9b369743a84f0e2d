import { gatewayAssertionJwks } from "../../shared/gateway-assertion/signing-key.ts";

const GATEWAY_ASSERTION_KEY = "test-gateway-assertion-key-0123456789abcdef0123";

/** Secrets for tests only. Real deployments set them with `wrangler secret put`. */
export const TEST_SECRETS = {
  BETTER_AUTH_SECRET: "test-better-auth-secret-0123456789abcdef0123456789",
  KEY_ENCRYPTION_SECRET: "test-key-encryption-secret-0123456789abcdef012345",
  VAULT_KEY: "test-vault-key-0123456789abcdef0123456789abcdef012",
  GATEWAY_ASSERTION_KEY,
  /** Public: what the demo service pins, derived as `npm start` derives it (scripts/workers.mjs). */
  GATEWAY_ASSERTION_JWKS: JSON.stringify(await gatewayAssertionJwks(GATEWAY_ASSERTION_KEY)),
} as const;
