import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { cookiesFrom, form, ORIGIN, PASSWORD, uniqueEmail } from "./helpers.ts";

describe("cookies", () => {
  it("on http (local): HttpOnly, SameSite=Lax, unprefixed", async () => {
    const response = await form("/sign-up", { name: "Local", email: uniqueEmail(), password: PASSWORD });
    const line = response.headers.getSetCookie().find((c) => c.startsWith("mono.session_token="));
    const [, ...attributes] = (line ?? "").split("; ");
    // Browsers drop `__Host-` and Secure cookies on plain http, so neither is set.
    expect(attributes).toEqual(["Max-Age=604800", "Path=/", "HttpOnly", "SameSite=Lax"]);
  });

  it("on https: __Host- prefixed, Secure, Path=/, no Domain", async () => {
    const issuer = "https://id.example.com";
    const auth = getAuth({ ...env, ISSUER: issuer });
    const email = uniqueEmail();
    const headers = new Headers({ Origin: issuer });
    // A public issuer always verifies addresses first (workers/authn/src/config.ts):
    // confirm this one as the verification link would, then sign in.
    await auth.api.signUpEmail({ body: { name: "Prod", email, password: PASSWORD }, headers });
    await env.DB.prepare("UPDATE user SET email_verified = 1 WHERE email = ?").bind(email).run();
    const response = await auth.api.signInEmail({ body: { email, password: PASSWORD }, headers, asResponse: true });
    expect(response.status).toBe(200);
    const line = response.headers.getSetCookie().find((c) => c.startsWith("__Host-mono.session_token="));
    // RFC 6265bis §4.1.3.2: a `__Host-` cookie must be Secure, Path=/ and have no Domain.
    const [pair, ...attributes] = (line ?? "").split("; ");
    expect(pair).toMatch(/^__Host-mono\.session_token=[^;]+$/);
    expect(attributes).toEqual(["Max-Age=604800", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"]);
    // Every cookie Better Auth sets on https carries the prefix.
    for (const cookie of response.headers.getSetCookie()) expect(cookie).toMatch(/^__Host-mono\./);
  });
});

type NodeScrypt = (
  password: string,
  salt: string,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
  callback: (error: Error | null, key: { toString(encoding: "hex"): string }) => void,
) => void;
// A variable, so the Worker's type check (no Node types) does not resolve it.
const NODE_CRYPTO = "node:crypto";

describe("password hashing", () => {
  it("derives what node:crypto scrypt derives (N=16384, r=16, p=1, 64 bytes)", async () => {
    const email = uniqueEmail();
    await form("/sign-up", { name: "Hash", email, password: PASSWORD });
    const row = await env.DB.prepare(
      "SELECT a.password FROM account a JOIN user u ON u.id = a.user_id WHERE u.email = ? AND a.provider_id = 'credential'",
    )
      .bind(email)
      .first<{ password: string }>();
    const [salt, hash] = row!.password.split(":") as [string, string];
    expect(salt).toMatch(/^[0-9a-f]{32}$/);
    const { scrypt } = (await import(NODE_CRYPTO)) as { scrypt: NodeScrypt };
    const derived = await new Promise<string>((resolve, reject) =>
      scrypt(PASSWORD.normalize("NFKC"), salt, 64, { N: 16384, r: 16, p: 1, maxmem: 128 * 16384 * 16 * 2 }, (e, k) =>
        e ? reject(e) : resolve(k.toString("hex")),
      ),
    );
    expect(derived).toBe(hash);
  });

  it("runs on the node:crypto build of @better-auth/utils/password, not @noble/hashes' pure-JS scrypt", async () => {
    // Both builds derive the same key, so the key alone cannot tell them
    // apart. What can: the function Better Auth's context hashes with is the
    // very export resolved under the `workerd` condition, and that export
    // salts with node:crypto's randomBytes, where the fallback uses
    // crypto.getRandomValues and @noble/hashes.
    const utils = await import("@better-auth/utils/password");
    const context = await getAuth(env).$context;
    expect(context.password.hash).toBe(utils.hashPassword);
    const source = utils.hashPassword.toString();
    expect(source).toMatch(/\brandomBytes\b/);
    expect(source).not.toMatch(/getRandomValues/);
  });
});

describe("sign-out", () => {
  it("records a session revocation in the org's Durable Object", async () => {
    const email = uniqueEmail();
    const signUp = await form("/sign-up", { name: "Leaving", email, password: PASSWORD });
    const cookie = cookiesFrom(signUp);
    const session = await env.DB.prepare(
      "SELECT s.id, s.active_organization_id AS org FROM session s JOIN user u ON u.id = s.user_id WHERE u.email = ?",
    )
      .bind(email)
      .first<{ id: string; org: string }>();
    const signOut = await form("/sign-out", {}, { Origin: ORIGIN, Cookie: cookie });
    expect(signOut.status).toBe(303);
    expect(signOut.headers.get("Location")).toBe("/sign-in");
    expect(signOut.headers.getSetCookie().find((c) => c.startsWith("mono.session_token="))).toMatch(/Max-Age=0/);
    expect(await env.DB.prepare("SELECT 1 FROM session WHERE id = ?").bind(session!.id).first()).toBeNull();
    const snapshot = await env.ORG_STATE.getByName(orgStateName(session!.org)).snapshot(session!.org);
    expect(snapshot.entries).toContainEqual(expect.objectContaining({ kind: "session", value: session!.id }));
    await expect
      .poll(() =>
        env.AUDIT_DB.prepare(
          "SELECT outcome FROM audit_event WHERE kind = 'revocation.recorded' AND instr(detail, ?) > 0",
        )
          .bind(session!.id)
          .first(),
      )
      .toEqual({ outcome: "recorded" });
  });

  it("without a session still lands on /sign-in, never a 500", async () => {
    const response = await form("/sign-out", {});
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/sign-in");
  });

  it("refuses a cross-origin sign-out", async () => {
    const response = await form("/sign-out", {}, { Origin: "https://evil.example" });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe("cross_origin_post");
  });
});

describe("client address", () => {
  it("records the edge's cf-connecting-ip, never a caller-supplied X-Forwarded-For", async () => {
    const email = uniqueEmail();
    await form(
      "/sign-up",
      { name: "Edge", email, password: PASSWORD },
      { Origin: ORIGIN, "cf-connecting-ip": "203.0.113.7", "X-Forwarded-For": "198.51.100.9" },
    );
    const row = await env.DB.prepare(
      "SELECT s.ip_address AS ip FROM session s JOIN user u ON u.id = s.user_id WHERE u.email = ?",
    )
      .bind(email)
      .first<{ ip: string }>();
    expect(row?.ip).toBe("203.0.113.7");
  });
});
