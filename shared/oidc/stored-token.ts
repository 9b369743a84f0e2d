/**
 * A token as Better Auth's oauth-provider keeps it (its default
 * `storeTokens: "hashed"`): the base64url SHA-256 of the token, unpadded.
 * Our readers of its `oidc_access_token` and `oidc_refresh_token` rows look
 * a presented token up by this, as Better Auth does; an authorization code
 * in this form is what its refresh token rows carry as
 * `authorization_code_id`, the browser grant's id (oidc/browser-grant-row.ts).
 */
export async function storedTokenForm(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  return btoa(String.fromCharCode(...digest))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}
