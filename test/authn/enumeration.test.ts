import { describe, expect, it } from "vitest";
import { apiTo, envWith, formTo, mailTo, VERIFYING } from "./email-helpers.ts";
import { PASSWORD, uniqueEmail } from "./helpers.ts";

/**
 * No user enumeration (ASVS 5.0 V6.3.8): sign-in, sign-up and the reset
 * request answer an existing and an unknown address with the same status
 * and body. Timing: Better Auth hashes the password on its not-found paths
 * (sign-in, and sign-up with verification required), and every mail goes
 * out after the answer (advanced.backgroundTasks), so neither path waits on
 * a send; no timing is asserted here (a shared machine cannot).
 */
const LOCAL = envWith({});
const strip = (html: string) => html.replace(/nonce="[^"]+"/g, "");

async function existing(target = LOCAL): Promise<string> {
  const email = uniqueEmail();
  const response = await apiTo(target, "/sign-up/email", { name: "Existing", email, password: PASSWORD });
  if (response.status !== 200) throw new Error(`sign-up: ${response.status}`);
  return email;
}

describe("no user enumeration", { timeout: 60_000 }, () => {
  it("sign-in: a wrong password and an unknown address get the same 401 and body (API and page)", async () => {
    const email = await existing();
    const wrong = await apiTo(LOCAL, "/sign-in/email", { email, password: "not the password at all" });
    const unknown = await apiTo(LOCAL, "/sign-in/email", { email: uniqueEmail(), password: "not the password at all" });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.text()).toBe(await unknown.text());

    const wrongPage = await formTo(LOCAL, "/sign-in", { email, password: "not the password at all" });
    const stranger = uniqueEmail();
    const unknownPage = await formTo(LOCAL, "/sign-in", { email: stranger, password: "not the password at all" });
    expect(wrongPage.status).toBe(401);
    expect(unknownPage.status).toBe(401);
    // The pages echo the email back into the form; nothing else may differ.
    expect(strip(await wrongPage.text()).replace(email, "E")).toBe(
      strip(await unknownPage.text()).replace(stranger, "E"),
    );
  });

  it("sign-up with verification required: an existing address gets the same answer as a new one", async () => {
    const email = await existing(VERIFYING);
    const again = await apiTo(VERIFYING, "/sign-up/email", { name: "Same", email, password: PASSWORD });
    const fresh = await apiTo(VERIFYING, "/sign-up/email", { name: "Same", email: uniqueEmail(), password: PASSWORD });
    expect(again.status).toBe(200);
    expect(fresh.status).toBe(200);
    const shape = (body: { token: unknown; user: Record<string, unknown> }) => ({
      token: body.token,
      user: Object.keys(body.user).sort(),
      emailVerified: body.user.emailVerified,
    });
    expect(shape(await again.json())).toEqual(shape(await fresh.json()));

    const againPage = await formTo(VERIFYING, "/sign-up", { name: "Same", email, password: PASSWORD });
    const freshPage = await formTo(VERIFYING, "/sign-up", { name: "Same", email: uniqueEmail(), password: PASSWORD });
    expect(againPage.status).toBe(303);
    expect(freshPage.status).toBe(303);
    expect(againPage.headers.get("Location")).toBe(freshPage.headers.get("Location"));
    // The same cookies, but for their values: the sign-up binding is an HMAC of
    // the new account's id or of Better Auth's synthetic one, alike to anyone
    // without the secret (security/sign-up-binding.ts).
    const attributes = (response: Response) =>
      response.headers.getSetCookie().map((line) => line.replace(/=\d+\.[\w-]{43};/, "=<binding>;"));
    expect(attributes(againPage)).toEqual(attributes(freshPage));
    expect(attributes(againPage)).toHaveLength(1);
    expect(await againPage.text()).toBe(await freshPage.text());
    // The owner hears of it, by mail, instead of the caller.
    expect((await mailTo(email)).map((m) => m.kind)).toContain("account-exists");
  });

  it("reset request: the same 200 and body for any address", async () => {
    const email = await existing();
    const known = await apiTo(LOCAL, "/request-password-reset", { email });
    const unknown = await apiTo(LOCAL, "/request-password-reset", { email: uniqueEmail() });
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    expect(await known.text()).toBe(await unknown.text());
  });
});
