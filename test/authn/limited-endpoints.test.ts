import { describe, expect, it } from "vitest";
import { limitedEndpoint } from "../../workers/authn/src/limits/limited-endpoints.ts";
import { ADDRESS_LIMIT, inOneWindow, PERIOD_SECONDS, RATE_LIMITED_BODY } from "../support/credential-limits.ts";
import { api, clientAddress, uniqueEmail } from "./helpers.ts";

/**
 * The credential limits reach every flow that checks a secret, sends mail or
 * starts a sign-in elsewhere — including the endpoints other plugins add
 * (2FA, passkeys, SSO, OAuth consent) — by their path alone.
 */
const NEW_FLOWS = [
  "/request-password-reset",
  "/reset-password",
  "/send-verification-email",
  "/change-email",
  "/request-account-unlock",
  "/two-factor/enable",
  "/two-factor/disable",
  "/two-factor/get-totp-uri",
  "/two-factor/generate-backup-codes",
  "/two-factor/verify-totp",
  "/two-factor/verify-otp",
  "/two-factor/verify-backup-code",
  "/passkey/verify-authentication",
  "/passkey/generate-authenticate-options",
  "/sign-in/sso",
  "/sign-in/social",
  "/oauth2/consent",
];

describe("credential limits on every new flow", { timeout: 120_000 }, () => {
  it("lists reset, verification resend, 2FA set-up, OTP/TOTP, passkey, SSO and consent (POST only)", () => {
    for (const path of NEW_FLOWS)
      expect({ path, limited: limitedEndpoint("POST", `/api/auth${path}`) }).not.toEqual({
        path,
        limited: undefined,
      });
    expect(limitedEndpoint("GET", "/api/auth/two-factor/verify-totp")).toBeUndefined();
  });

  it("refuses the attempt past the per-address limit with 429 on each of them", async () => {
    const outcome = await inOneWindow(async () => {
      const address = clientAddress();
      const within: number[] = [];
      for (let i = 0; i < ADDRESS_LIMIT; i++) {
        const path = i % 2 === 0 ? "/two-factor/verify-totp" : "/reset-password";
        within.push(
          (await api(path, { code: "000000", token: "x", newPassword: "irrelevant" }, { "cf-connecting-ip": address }))
            .status,
        );
      }
      const refused: Response[] = [];
      for (const path of NEW_FLOWS) {
        refused.push(await api(path, { email: uniqueEmail(), code: "000000" }, { "cf-connecting-ip": address }));
      }
      return { within, refused };
    });
    expect(outcome.within).not.toContain(429);
    for (const response of outcome.refused) {
      expect(response.status).toBe(429);
      expect(response.headers.get("Retry-After")).toBe(String(PERIOD_SECONDS));
      expect(await response.json()).toEqual(RATE_LIMITED_BODY);
    }
  });
});
