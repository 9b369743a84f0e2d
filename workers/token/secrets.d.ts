// Secrets are not in wrangler.toml, so `wrangler types` cannot see them.
interface TokenEnv {
  /** Seals the private signing keys at rest (HKDF → AES-256-GCM). */
  KEY_ENCRYPTION_SECRET: string;
  /** Wraps each org's data key for the saved-token vault (workers/token/src/vault/vault-key.ts). */
  VAULT_KEY: string;
}
declare namespace Cloudflare {
  interface Env {
    KEY_ENCRYPTION_SECRET: string;
    VAULT_KEY: string;
  }
}
