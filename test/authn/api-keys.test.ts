// API keys (@better-auth/api-key as workers/authn/src/auth/plugins/api-key.ts
// runs it), made on the account page: shown once, stored only as a hash,
// scoped, expiring, revocable; an org's keys only by its owners and admins.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { MAX_API_KEYS_PER_OWNER } from "../../workers/authn/src/auth/plugins/api-key.ts";
import { api, cookiesFrom, get, ORIGIN, signUp } from "./helpers.ts";

type Person = Awaited<ReturnType<typeof signUp>>;

/** A form post of the account page, as the browser sends it (fields may repeat). */
function postForm(path: string, body: URLSearchParams, cookie: string) {
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: ORIGIN, Cookie: cookie },
      body,
      redirect: "manual",
    }),
  );
}

function createKey(person: Person, fields: Record<string, string>) {
  return postForm("/account/api-keys/create", new URLSearchParams(fields), person.cookie);
}

function shownKey(html: string): string {
  const match = /data-testid="created-key">([^<]+)</.exec(html);
  if (!match?.[1]) throw new Error("no key on the page");
  return match[1].trim();
}

async function sha256Base64Url(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** What a service holding the key would learn from Better Auth (server-only: no HTTP route). */
function verify(key: string, permissions?: Record<string, string[]>) {
  return getAuth(env).api.verifyApiKey({ body: { key, configId: "user", ...(permissions ? { permissions } : {}) } });
}

/** Makes `person` a member of `owner`'s organization with `role`, and that organization their session's active one. */
async function joinAs(person: Person, owner: Person, role: "admin" | "member") {
  await env.DB.prepare("INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, ?, ?)")
    .bind(crypto.randomUUID(), owner.orgId, person.userId, role, Date.now())
    .run();
  const switched = await api("/organization/set-active", { organizationId: owner.orgId }, { Cookie: person.cookie });
  expect(switched.status).toBe(200);
  const cookie = cookiesFrom(switched);
  return cookie ? { ...person, cookie: `${person.cookie}; ${cookie}` } : person;
}

describe("API keys", () => {
  it("shows a new key once and stores only its SHA-256", async () => {
    const person = await signUp();
    const created = await createKey(person, { name: "ci", owner: "user", scope: "documents:read", days: "30" });
    expect(created.status).toBe(200);
    const key = shownKey(await created.text());
    expect(key).toMatch(/^mak_/);

    const row = await env.DB.prepare("SELECT * FROM apikey WHERE reference_id = ?")
      .bind(person.userId)
      .first<Record<string, unknown>>();
    expect(row?.key).toBe(await sha256Base64Url(key));
    // No column holds the key, or more of it than the 8 characters that tell keys apart.
    expect(JSON.stringify(row)).not.toContain(key.slice(0, 12));
    expect(row?.start).toBe(key.slice(0, 8));

    const page = await (await get("/account", { Cookie: person.cookie })).text();
    expect(page).not.toContain(key);
    expect(page).toContain("documents:read");
  });

  it("scopes a key to what was chosen", async () => {
    const person = await signUp();
    const key = shownKey(
      await (await createKey(person, { name: "reader", owner: "user", scope: "documents:read", days: "7" })).text(),
    );
    expect(await verify(key, { documents: ["read"] })).toMatchObject({ valid: true });
    expect(await verify(key, { ssf: ["manage"] })).toMatchObject({ valid: false, error: { code: "KEY_NOT_FOUND" } });
  });

  it("refuses scopes and expiries it does not know, and scopes from Better Auth's own API", async () => {
    const person = await signUp();
    for (const [fields, message] of [
      [{ name: "x", owner: "user", scope: "admin", days: "7" }, "Choose scopes from the list."],
      [{ name: "x", owner: "user", days: "7" }, "Choose at least one scope."],
      [{ name: "x", owner: "user", scope: "documents:read", days: "366" }, "Choose an expiry between 1 and 365 days."],
      [
        { name: "", owner: "user", scope: "documents:read", days: "7" },
        "Give the key a name of at most 64 characters.",
      ],
    ] as const) {
      const refused = await createKey(person, fields);
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain(message);
    }
    // Only the server sets scopes (the page above); a browser's call cannot.
    const direct = await api(
      "/api-key/create",
      { configId: "user", name: "x", permissions: { documents: ["read"] } },
      { Cookie: person.cookie },
    );
    expect(direct.status).toBe(400);
    expect(((await direct.json()) as { code: string }).code).toBe("SERVER_ONLY_PROPERTY");
  });

  it("expires a key", async () => {
    const person = await signUp();
    const key = shownKey(
      await (await createKey(person, { name: "short", owner: "user", scope: "documents:read", days: "1" })).text(),
    );
    const row = await env.DB.prepare("SELECT expires_at FROM apikey WHERE reference_id = ?")
      .bind(person.userId)
      .first<{ expires_at: number }>();
    const day = 24 * 60 * 60 * 1000;
    expect(Math.abs((row?.expires_at ?? 0) - (Date.now() + day))).toBeLessThan(60_000);
    await env.DB.prepare("UPDATE apikey SET expires_at = ? WHERE reference_id = ?")
      .bind(Date.now() - 1000, person.userId)
      .run();
    expect(await verify(key)).toMatchObject({ valid: false, error: { code: "KEY_EXPIRED" } });
  });

  it("never lets an update take a key's expiry away: 400 API_KEY_EXPIRY_REQUIRED", async () => {
    const person = await signUp();
    await createKey(person, { name: "kept", owner: "user", scope: "documents:read", days: "7" });
    const row = await env.DB.prepare("SELECT id, expires_at FROM apikey WHERE reference_id = ?")
      .bind(person.userId)
      .first<{ id: string; expires_at: number }>();
    const update = (expiresIn: number | null) =>
      api("/api-key/update", { configId: "user", keyId: row?.id, expiresIn }, { Cookie: person.cookie });
    const refused = await update(null);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { code: string }).code).toBe("API_KEY_EXPIRY_REQUIRED");
    const after = await env.DB.prepare("SELECT expires_at FROM apikey WHERE id = ?")
      .bind(row?.id ?? "")
      .first<{ expires_at: number | null }>();
    expect(after?.expires_at).toBe(row?.expires_at);
    // A new expiry within the bounds is the owner's to set.
    expect((await update(30 * 24 * 60 * 60)).status).toBe(200);
  });

  it("revokes a key", async () => {
    const person = await signUp();
    const key = shownKey(
      await (await createKey(person, { name: "gone", owner: "user", scope: "documents:read", days: "7" })).text(),
    );
    const row = await env.DB.prepare("SELECT id FROM apikey WHERE reference_id = ?")
      .bind(person.userId)
      .first<{ id: string }>();
    const revoked = await postForm(
      "/account/api-keys/revoke",
      new URLSearchParams({ id: row?.id ?? "", owner: "user" }),
      person.cookie,
    );
    expect(revoked.status).toBe(200);
    expect(await revoked.text()).toContain("API key revoked.");
    expect(await verify(key)).toMatchObject({ valid: false, error: { code: "INVALID_API_KEY" } });
  });

  it("lets nobody revoke another person's key: 404 KEY_NOT_FOUND", async () => {
    const owner = await signUp();
    await createKey(owner, { name: "mine", owner: "user", scope: "documents:read", days: "7" });
    const row = await env.DB.prepare("SELECT id FROM apikey WHERE reference_id = ?")
      .bind(owner.userId)
      .first<{ id: string }>();
    const other = await signUp();
    const refused = await api("/api-key/delete", { keyId: row?.id, configId: "user" }, { Cookie: other.cookie });
    expect(refused.status).toBe(404);
    expect(((await refused.json()) as { code: string }).code).toBe("KEY_NOT_FOUND");
    const still = await env.DB.prepare("SELECT COUNT(*) AS n FROM apikey WHERE id = ?")
      .bind(row?.id ?? "")
      .first<{ n: number }>();
    expect(still?.n).toBe(1);
  });

  it("caps the keys one owner holds: 403 API_KEY_LIMIT_REACHED", async () => {
    const person = await signUp();
    const future = Date.now() + 24 * 60 * 60 * 1000;
    await env.DB.batch(
      Array.from({ length: MAX_API_KEYS_PER_OWNER }, () =>
        env.DB.prepare(
          "INSERT INTO apikey (id, config_id, name, reference_id, key, expires_at, created_at, updated_at) VALUES (?, 'user', 'filler', ?, ?, ?, ?, ?)",
        ).bind(crypto.randomUUID(), person.userId, crypto.randomUUID(), future, Date.now(), Date.now()),
      ),
    );
    const page = await createKey(person, { name: "one more", owner: "user", scope: "documents:read", days: "7" });
    expect(page.status).toBe(403);
    expect(await page.text()).toContain("That is as many keys as one owner may hold. Revoke one first.");
    const direct = await api("/api-key/create", { configId: "user", name: "one more" }, { Cookie: person.cookie });
    expect(direct.status).toBe(403);
    expect(((await direct.json()) as { code: string }).code).toBe("API_KEY_LIMIT_REACHED");
  });

  it("needs a fresh sign-in: an older session is refused (SESSION_NOT_FRESH) and no key is made", async () => {
    // A stolen session must not mint a credential that outlives it (up to a year) and survives a password reset.
    const person = await signUp();
    const freshAgeMs = Number(env.SESSION_FRESH_AGE_SECONDS) * 1000;
    await env.DB.prepare("UPDATE session SET created_at = ? WHERE id = ?")
      .bind(Date.now() - freshAgeMs - 1000, person.sessionId)
      .run();
    const page = await createKey(person, { name: "late", owner: "user", scope: "documents:read", days: "7" });
    expect(page.status).toBe(403);
    expect(await page.text()).toContain("Sign in again to create an API key.");
    const direct = await api("/api-key/create", { configId: "user", name: "late" }, { Cookie: person.cookie });
    expect(direct.status).toBe(403);
    expect(((await direct.json()) as { code: string }).code).toBe("SESSION_NOT_FRESH");
    const keys = await env.DB.prepare("SELECT count(*) AS n FROM apikey WHERE reference_id = ?")
      .bind(person.userId)
      .first<{ n: number }>();
    expect(keys?.n).toBe(0);
  });

  it("gives an org's keys to its owners and admins, never to a member (403 INSUFFICIENT_API_KEY_PERMISSIONS)", async () => {
    const owner = await signUp("Org Owner");
    const ownerKey = shownKey(
      await (await createKey(owner, { name: "org ci", owner: "org", scope: "documents:read", days: "7" })).text(),
    );
    expect(ownerKey).toMatch(/^mao_/);
    const stored = await env.DB.prepare("SELECT reference_id, config_id FROM apikey WHERE start = ?")
      .bind(ownerKey.slice(0, 8))
      .first<{ reference_id: string; config_id: string }>();
    expect(stored).toEqual({ reference_id: owner.orgId, config_id: "org" });

    const admin = await joinAs(await signUp("Org Admin"), owner, "admin");
    const adminKey = await createKey(admin, { name: "admin ci", owner: "org", scope: "documents:read", days: "7" });
    expect(adminKey.status).toBe(200);
    expect(shownKey(await adminKey.text())).toMatch(/^mao_/);

    const member = await joinAs(await signUp("Org Member"), owner, "member");
    const refused = await createKey(member, { name: "nope", owner: "org", scope: "documents:read", days: "7" });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("Only the organization&#39;s owners and admins manage its keys.");
    const direct = await api(
      "/api-key/create",
      { configId: "org", name: "nope", organizationId: owner.orgId },
      { Cookie: member.cookie },
    );
    expect(direct.status).toBe(403);
    expect(((await direct.json()) as { code: string }).code).toBe("INSUFFICIENT_API_KEY_PERMISSIONS");
    const listed = await get(`/api/auth/api-key/list?organizationId=${owner.orgId}`, { Cookie: member.cookie });
    expect(listed.status).toBe(403);
    expect(((await listed.json()) as { code: string }).code).toBe("INSUFFICIENT_API_KEY_PERMISSIONS");
  });
});
