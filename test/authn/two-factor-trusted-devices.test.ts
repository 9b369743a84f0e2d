// Turning the second factor off forgets every device it trusted, not only
// the one that turned it off: a device trusted before (say, a thief's, that
// once passed the old factor) would otherwise skip the new factor, once it
// is on again, for the rest of its 30 days, with the password alone.
import { describe, expect, it } from "vitest";
import { nextTotp } from "../support/totp.ts";
import { api, PASSWORD, signUp } from "./helpers.ts";
import { enableTotp, passwordSignIn, updatedCookies } from "./two-factor-flow.ts";

/** A second device of the person, trusted after it passed the second factor; its cookie jar. */
async function trustedDevice(email: string, secret: string) {
  const first = await passwordSignIn(email);
  expect(first.body).toHaveProperty("twoFactorRedirect", true);
  const trusted = await api(
    "/two-factor/verify-totp",
    { code: await nextTotp(secret), trustDevice: true },
    { Cookie: first.cookie },
  );
  expect(trusted.status).toBe(200);
  const jar = updatedCookies(first.cookie, trusted);
  expect(jar).toMatch(/trust_device=/);
  return jar;
}

describe("turning the second factor off", () => {
  it("forgets every trusted device: after it is on again, each is asked for the new factor", async () => {
    const person = await signUp();
    const { secret, cookie } = await enableTotp(person.cookie);
    const device = await trustedDevice(person.email, secret);

    const disabled = await api("/two-factor/disable", { password: PASSWORD }, { Cookie: cookie });
    expect(disabled.status).toBe(200);
    await enableTotp(updatedCookies(cookie, disabled));

    const again = await passwordSignIn(person.email, { Cookie: device });
    expect(again.response.status).toBe(200);
    expect(again.body).toHaveProperty("twoFactorRedirect", true);
  });
});
