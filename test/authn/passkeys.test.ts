// Passkeys (@better-auth/passkey as workers/authn/src/auth/plugins/passkey.ts
// runs it): sign-in needs user verification and counts as the second factor;
// a passkey is listed, renamed and deleted by its owner only
// (GHSA-4vcf-q4xf-f48m).
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, cookiesFrom, exchange, get, ORIGIN, signUp } from "./helpers.ts";
import { enableTotp } from "./two-factor-flow.ts";
import { assertion, registerSoftPasskey } from "./webauthn-assertion.ts";

function postForm(path: string, fields: Record<string, string>, cookie: string) {
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: ORIGIN, Cookie: cookie },
      body: new URLSearchParams(fields),
      redirect: "manual",
    }),
  );
}

async function passkeyName(id: string): Promise<string | null | undefined> {
  const row = await env.DB.prepare("SELECT name FROM passkey WHERE id = ?").bind(id).first<{ name: string | null }>();
  return row === null ? undefined : row.name;
}

/** A passkey sign-in as the page's script does it: options (and the challenge cookie), then the assertion. */
async function passkeySignIn(credential: Awaited<ReturnType<typeof registerSoftPasskey>>, userVerified = true) {
  const options = await get("/api/auth/passkey/generate-authenticate-options");
  expect(options.status).toBe(200);
  const { challenge } = (await options.json()) as { challenge: string };
  return api(
    "/passkey/verify-authentication",
    { response: await assertion(credential, challenge, userVerified) },
    { Cookie: cookiesFrom(options) },
  );
}

describe("passkeys", () => {
  it("signs in with a user-verified passkey; the answer carries no session token; the session may exchange", async () => {
    const person = await signUp();
    const credential = await registerSoftPasskey(person.userId);
    const signedIn = await passkeySignIn(credential);
    expect(signedIn.status).toBe(200);
    const body = (await signedIn.json()) as { session: Record<string, unknown>; user: { id: string } };
    expect(body.user.id).toBe(person.userId);
    expect(body.session).not.toHaveProperty("token");
    expect((await exchange(cookiesFrom(signedIn))).status).toBe(200);
  });

  it("refuses a passkey assertion without user verification: 401 AUTHENTICATION_FAILED", async () => {
    const person = await signUp();
    const credential = await registerSoftPasskey(person.userId);
    const refused = await passkeySignIn(credential, false);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { code: string }).code).toBe("AUTHENTICATION_FAILED");
    expect(refused.headers.getSetCookie().some((line) => /session_token=[^;]/.test(line))).toBe(false);
  });

  it("counts a passkey sign-in as the second factor of a person with TOTP on", async () => {
    const person = await signUp();
    await enableTotp(person.cookie);
    const credential = await registerSoftPasskey(person.userId);
    const signedIn = await passkeySignIn(credential);
    expect(signedIn.status).toBe(200);
    expect((await exchange(cookiesFrom(signedIn))).status).toBe(200);
  });

  it("lists only the caller's passkeys", async () => {
    const alice = await signUp("Alice");
    const bob = await signUp("Bob");
    const alicesKey = await registerSoftPasskey(alice.userId, "Alice's key");
    const listed = (await (await get("/api/auth/passkey/list-user-passkeys", { Cookie: bob.cookie })).json()) as {
      id: string;
    }[];
    expect(listed.map((p) => p.id)).not.toContain(alicesKey.passkeyId);
    const page = await (await get("/account", { Cookie: bob.cookie })).text();
    expect(page).not.toContain(alicesKey.passkeyId);
    expect(page).not.toContain("Alice&#39;s key");
  });

  it("refuses to rename or delete another person's passkey exactly as a missing one: 404 PASSKEY_NOT_FOUND (GHSA-4vcf-q4xf-f48m)", async () => {
    const alice = await signUp("Alice");
    const bob = await signUp("Bob");
    const { passkeyId } = await registerSoftPasskey(alice.userId, "Alice's key");
    for (const id of [passkeyId, crypto.randomUUID()]) {
      const renamed = await api("/passkey/update-passkey", { id, name: "pwned" }, { Cookie: bob.cookie });
      expect(renamed.status).toBe(404);
      expect(((await renamed.json()) as { code: string }).code).toBe("PASSKEY_NOT_FOUND");
      const deleted = await api("/passkey/delete-passkey", { id }, { Cookie: bob.cookie });
      expect(deleted.status).toBe(404);
      expect(((await deleted.json()) as { code: string }).code).toBe("PASSKEY_NOT_FOUND");
    }
    // Through Bob's account page too.
    const pageRename = await postForm("/account/passkeys/rename", { id: passkeyId, name: "pwned" }, bob.cookie);
    expect(pageRename.status).toBe(404);
    expect(await pageRename.text()).toContain("No such passkey.");
    const pageDelete = await postForm("/account/passkeys/delete", { id: passkeyId }, bob.cookie);
    expect(pageDelete.status).toBe(404);
    expect(await passkeyName(passkeyId)).toBe("Alice's key");
  });

  it("lets the owner rename and delete their passkey from the account page", async () => {
    const alice = await signUp("Alice");
    const { passkeyId } = await registerSoftPasskey(alice.userId, "Old name");
    const renamed = await postForm("/account/passkeys/rename", { id: passkeyId, name: "Laptop" }, alice.cookie);
    expect(renamed.status).toBe(200);
    expect(await renamed.text()).toContain("Passkey renamed.");
    expect(await passkeyName(passkeyId)).toBe("Laptop");
    const deleted = await postForm("/account/passkeys/delete", { id: passkeyId }, alice.cookie);
    expect(deleted.status).toBe(200);
    expect(await passkeyName(passkeyId)).toBeUndefined();
  });

  it("starts a registration only for a signed-in person: 401", async () => {
    const refused = await get("/api/auth/passkey/generate-register-options");
    expect(refused.status).toBe(401);
    const person = await signUp();
    const options = await get("/api/auth/passkey/generate-register-options", { Cookie: person.cookie });
    expect(options.status).toBe(200);
    const body = (await options.json()) as { rp: { id: string }; authenticatorSelection: Record<string, string> };
    expect(body.rp.id).toBe(new URL(env.ISSUER).hostname);
    expect(body.authenticatorSelection).toMatchObject({ userVerification: "required", residentKey: "required" });
  });
});
