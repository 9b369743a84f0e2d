/** Secrets for tests only. Real deployments set them with `wrangler secret put`. */
export const TEST_SECRETS = {
  BETTER_AUTH_SECRET: "test-better-auth-secret-0123456789abcdef0123456789",
  KEY_ENCRYPTION_SECRET: "test-key-encryption-secret-0123456789abcdef012345",
} as const;
