// SSO over OIDC through the gateway, against a real upstream OpenID Provider
// (`oidc-provider`, started here on 127.0.0.1): an org admin registers it for
// their org (discovery from its issuer), it signs nobody in until its domain
// is verified, then a person signs in through it and joins the org as a
// member just in time. An existing local account whose address was never
// verified is not taken over through it (GHSA-g38m-r43w-p2q7).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserLikeClient } from "../support/browser-like-client.ts";
import { followIdpRedirects, OidcIdp } from "../support/oidc-idp.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const PROVIDER_ID = "acme-idp";
const DOMAIN = "acme.test";
const CLIENT = { clientId: "mono-auth", clientSecret: "upstream-client-secret-0123456789" };

let idp: OidcIdp;
let system: RunningSystem;
let admin: BrowserLikeClient;
let orgId: string;

function address(): string {
  const [a] = crypto.getRandomValues(new Uint8Array(1)) as unknown as [number];
  return `203.0.113.${a}`;
}

beforeAll(async () => {
  idp = await OidcIdp.listen();
  // The IdP is on a loopback address, which @better-auth/sso refuses as an
  // endpoint unless its origin is trusted (GHSA-5rr4-8452-hf4v): the
  // deployer's documented allowance for an internal IdP.
  system = await startSystem({ authnVars: { TRUSTED_ORIGINS: idp.issuer } });
  idp.start({ ...CLIENT, redirectUri: `${system.origin}/api/auth/sso/callback/${PROVIDER_ID}` });
  admin = new BrowserLikeClient(system, { clientAddress: address() });
  ({ orgId } = await admin.signUp(`admin-${crypto.randomUUID()}@example.com`));
});
afterAll(async () => {
  await system?.close();
  await idp?.close();
});

/** Starts SSO sign-in as a browser would (the sign-in page's SSO form posts the same). */
async function startSignIn(client: BrowserLikeClient) {
  return client.postJson("/api/auth/sign-in/sso", { providerId: PROVIDER_ID, callbackURL: "/app" });
}

/** Our sign-in → the IdP (scripted person) → the path and query it sends the browser back to. */
async function throughIdp(client: BrowserLikeClient): Promise<string> {
  const started = await startSignIn(client);
  expect(started.status).toBe(200);
  const { url } = (await started.json()) as { url: string };
  expect(url.startsWith(`${idp.issuer}/`)).toBe(true);
  const callback = await followIdpRedirects(url, system.origin);
  expect(callback.startsWith(`${system.origin}/api/auth/sso/callback/${PROVIDER_ID}?`)).toBe(true);
  return callback.slice(system.origin.length);
}

/** The whole round trip: our sign-in → the IdP → our callback. */
async function signInThroughIdp(client: BrowserLikeClient) {
  return client.request(await throughIdp(client));
}

describe("SSO over OIDC with a real upstream IdP", () => {
  it("a plain member of the org cannot register a provider for it (GHSA-gv74-j8m3-fg5f)", async () => {
    const member = new BrowserLikeClient(system, { clientAddress: address() });
    const { userId } = await member.signUp(`member-${crypto.randomUUID()}@example.com`);
    await system.execMain(
      "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
      crypto.randomUUID(),
      orgId,
      userId,
      Date.now(),
    );
    const response = await member.postJson("/api/auth/sso/register", {
      providerId: "member-idp",
      issuer: idp.issuer,
      domain: "member.test",
      organizationId: orgId,
      oidcConfig: CLIENT,
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({
      message: "You must be an organization owner or admin to register SSO providers",
    });
  });

  it("the org's owner registers the IdP by discovery; unverified, it signs nobody in", async () => {
    const registered = await admin.postJson("/api/auth/sso/register", {
      providerId: PROVIDER_ID,
      issuer: idp.issuer,
      domain: DOMAIN,
      organizationId: orgId,
      oidcConfig: { ...CLIENT, pkce: true },
    });
    expect(registered.status).toBe(200);
    expect(await registered.json()).toMatchObject({
      providerId: PROVIDER_ID,
      organizationId: orgId,
      domainVerified: false,
      redirectURI: `${system.origin}/api/auth/sso/callback/${PROVIDER_ID}`,
    });

    const refused = await startSignIn(new BrowserLikeClient(system, { clientAddress: address() }));
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ message: "Provider domain has not been verified" });
  });

  it("verified, a person signs in through the IdP and joins the org as a member", async () => {
    const requested = await admin.postJson("/api/auth/sso/request-domain-verification", { providerId: PROVIDER_ID });
    expect(requested.status).toBe(201);
    // /sso/verify-domain would now resolve `_better-auth-token-acme-idp.acme.test`
    // TXT; no DNS zone can be published from a test, so the row is marked
    // verified exactly as its success does.
    await system.execMain("UPDATE sso_provider SET domain_verified = 1 WHERE provider_id = ?", PROVIDER_ID);

    const email = `jane-${crypto.randomUUID().slice(0, 8)}@${DOMAIN}`;
    idp.signInAs({ sub: `jane-${crypto.randomUUID()}`, email, name: "Jane Doe" });
    const person = new BrowserLikeClient(system, { clientAddress: address() });
    const landed = await signInThroughIdp(person);
    expect(landed.status).toBe(302);
    expect(landed.headers.get("location")).toBe("/app");

    const session = (await (await person.request("/api/auth/get-session")).json()) as {
      user: { id: string; email: string };
    };
    expect(session.user.email).toBe(email);
    const members = await system.queryMain<{ role: string }>(
      "SELECT role FROM member WHERE organization_id = ? AND user_id = ?",
      orgId,
      session.user.id,
    );
    expect(members).toEqual([{ role: "member" }]);
    const accounts = await system.queryMain<{ provider_id: string }>(
      "SELECT provider_id FROM account WHERE user_id = ?",
      session.user.id,
    );
    expect(accounts).toEqual([{ provider_id: PROVIDER_ID }]);

    // As a member of the org, they get a token for it and read its documents through the gateway.
    expect((await person.postJson("/api/auth/organization/set-active", { organizationId: orgId })).status).toBe(200);
    const exchanged = await person.exchangeSessionForToken();
    expect(exchanged.status).toBe(200);
    const { access_token } = (await exchanged.json()) as { access_token: string };
    const documents = await system.fetch("/api/documents", { headers: { Authorization: `Bearer ${access_token}` } });
    expect(documents.status).toBe(200);
    await documents.arrayBuffer();
  });

  it("GHSA-g38m-r43w-p2q7: a local account with the same, unverified address is not linked", async () => {
    // Someone registered the employee's address first, with a password, and never confirmed it.
    const email = `victim-${crypto.randomUUID().slice(0, 8)}@${DOMAIN}`;
    const squatter = new BrowserLikeClient(system, { clientAddress: address() });
    const signUp = await squatter.postJson("/api/auth/sign-up/email", {
      name: "Squatter",
      email,
      password: "correct horse battery staple",
    });
    expect(signUp.status).toBe(200);

    idp.signInAs({ sub: `victim-${crypto.randomUUID()}`, email, name: "Real Employee" });
    const employee = new BrowserLikeClient(system, { clientAddress: address() });
    const landed = await signInThroughIdp(employee);
    expect(landed.status).toBe(302);
    expect(new URL(landed.headers.get("location") ?? "", system.origin).searchParams.get("error")).toBe(
      "account not linked",
    );
    expect(await (await employee.request("/api/auth/get-session")).json()).toBeNull();
    const accounts = await system.queryMain<{ provider_id: string }>(
      "SELECT a.provider_id FROM account a JOIN user u ON u.id = a.user_id WHERE u.email = ?",
      email,
    );
    expect(accounts).toEqual([{ provider_id: "credential" }]);
  });

  it("a local account with the same, verified address is linked and signed in", async () => {
    const email = `alice-${crypto.randomUUID().slice(0, 8)}@${DOMAIN}`;
    const alice = new BrowserLikeClient(system, { clientAddress: address() });
    const signUp = await alice.postJson("/api/auth/sign-up/email", {
      name: "Alice",
      email,
      password: "correct horse battery staple",
    });
    expect(signUp.status).toBe(200);
    const { user } = (await signUp.json()) as { user: { id: string } };
    // She confirmed her address (the dev mailbox link, test/authn/email-verification.test.ts).
    await system.execMain("UPDATE user SET email_verified = 1 WHERE id = ?", user.id);

    idp.signInAs({ sub: `alice-${crypto.randomUUID()}`, email, name: "Alice" });
    const laptop = new BrowserLikeClient(system, { clientAddress: address() });
    const landed = await signInThroughIdp(laptop);
    expect(landed.headers.get("location")).toBe("/app");
    const session = (await (await laptop.request("/api/auth/get-session")).json()) as { user: { id: string } };
    expect(session.user.id).toBe(user.id);
    const accounts = await system.queryMain<{ provider_id: string }>(
      "SELECT provider_id FROM account WHERE user_id = ? ORDER BY provider_id",
      user.id,
    );
    expect(accounts).toEqual([{ provider_id: PROVIDER_ID }, { provider_id: "credential" }]);
  });

  it("an address outside the provider's verified domain gets no account: SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN", async () => {
    const email = `ceo-${crypto.randomUUID().slice(0, 8)}@other-company.test`;
    idp.signInAs({ sub: `outsider-${crypto.randomUUID()}`, email, name: "Not Ours" });
    const person = new BrowserLikeClient(system, { clientAddress: address() });
    const landed = await signInThroughIdp(person);
    expect(landed.status).toBe(302);
    expect(new URL(landed.headers.get("location") ?? "", system.origin).searchParams.get("error")).toBe(
      "SSO_EMAIL_OUTSIDE_PROVIDER_DOMAIN",
    );
    expect(await (await person.request("/api/auth/get-session")).json()).toBeNull();
    expect(await system.queryMain("SELECT id FROM user WHERE email = ?", email)).toEqual([]);
  });

  it("the shared /sso/callback is not served: the IdP cannot route an outside address around the domain check", async () => {
    // The IdP is the org admin's to configure: it sends the browser, with a
    // valid code and state for this provider, to the plugin's shared
    // callback (provider read from the state) instead of the provider's own.
    const email = `ceo-${crypto.randomUUID().slice(0, 8)}@other-company.test`;
    idp.signInAs({ sub: `outsider-${crypto.randomUUID()}`, email, name: "Not Ours" });
    const person = new BrowserLikeClient(system, { clientAddress: address() });
    const callback = await throughIdp(person);
    const shared = callback.replace(`/api/auth/sso/callback/${PROVIDER_ID}?`, "/api/auth/sso/callback?");
    const landed = await person.request(shared);
    // No such route: Better Auth's router answers an empty 404, before any code is redeemed.
    expect(landed.status).toBe(404);
    expect(await landed.text()).toBe("");
    expect(await (await person.request("/api/auth/get-session")).json()).toBeNull();
    expect(await system.queryMain("SELECT id FROM user WHERE email = ?", email)).toEqual([]);
  });
});
