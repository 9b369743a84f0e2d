/**
 * A token as Better Auth's oauth-provider keeps it (its default
 * `storeTokens: "hashed"`): the base64url SHA-256 of the token, unpadded.
 * Our readers of its `oidc_access_token` and `oidc_refresh_token` rows look
 * a presented token up by this, as Better Auth does.
 */
export async function storedTokenForm(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  return btoa(String.fromCharCode(...digest))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}
