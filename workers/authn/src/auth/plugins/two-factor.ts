import { twoFactor } from "better-auth/plugins";

/** TOTP second factor with backup codes and trusted devices. */
export function twoFactorPlugin(issuer: string) {
  return twoFactor({
    // The authenticator app shows this as the account's label.
    issuer: new URL(issuer).host,
  });
}
