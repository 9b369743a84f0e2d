/**
 * The vault's typed failures, each with a stable code. None carries a token
 * or a key: their messages may reach a log.
 *
 * - `ERR_VAULT_KEY_UNWRAP`: the org's data key does not unwrap under
 *   VAULT_KEY (a different secret, or a wrapped key copied from another org);
 * - `ERR_VAULT_DECRYPT`: a sealed field does not open under its org's key and
 *   its place (another org's key, or a ciphertext moved to another row or column);
 * - `ERR_VAULT_UPSTREAM`: the provider's token endpoint refused or answered
 *   something that is not an RFC 6749 §5.1 token response.
 */
export type VaultErrorCode = "ERR_VAULT_KEY_UNWRAP" | "ERR_VAULT_DECRYPT" | "ERR_VAULT_UPSTREAM";

export class VaultError extends Error {
  override readonly name = "VaultError";
  constructor(
    readonly code: VaultErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
