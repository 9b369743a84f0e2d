// OIDC Back-Channel Logout 1.0 when a session ends with no Better Auth
// endpoint: an operator's ban or sign-out of a person (the token Worker
// deletes the sessions itself, workers/token/src/admin/person-cutoff.ts) and
// SCIM deactivation (Better Auth's internal adapter outside any endpoint,
// workers/authn/src/scim/deprovision.ts). Neither Better Auth's hook nor the
// authn Worker's runs then, so every client of each ended session with a
// `backchannel_logout_uri` is told from there, as Keycloak and Okta tell
// every RP of a session an administrator ends: a client holding only an ID
// token and a JWT access token (recorded by the issuer) and one holding a
// token Better Auth stored, each exactly once. Real receivers, tokens
// verified as an RP must (§2.6); test/e2e/oidc-backchannel-logout.test.ts
// covers the sessions a Better Auth endpoint ends.
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import {
  backchannelSystem,
  type LogoutReceiver,
  recordedClients,
  registeredRp,
  signedInBrowser,
  signedUpPerson,
  tokensFor,
  unreachableUri,
  verifiedLogoutToken,
} from "../support/backchannel-logout.ts";
import type { CookieBrowser } from "../support/cookie-browser.ts";
import { type InteropOperator, interopOperator } from "../support/interop.ts";
import type { OperatorCli } from "../support/operator-cli.ts";
import type { RunningSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: OperatorCli;
let operatorApi: InteropOperator;
let receiver: LogoutReceiver;
let api: string;

type Rp = Awaited<ReturnType<typeof registeredRp>>;

backchannelSystem("backchannel-cutoff", async (setup) => {
  ({ system, operator, receiver } = setup);
  operatorApi = await interopOperator(system);
  api = `${system.origin}/api`;
});

/**
 * One browser session at the two clients: `jwtOnly` gets an ID token and a
 * JWT access token (a resource; no refresh token), neither of which Better
 * Auth stores: only the issuer's record names the client. `stored` gets an
 * opaque access token, which Better Auth stores: with `openid`, an ID token
 * too (recorded as well: one client both ways); without, nothing else
 * (no record: only Better Auth's row names it). Returns the session's `sid`
 * and the person's `sub`.
 */
async function sessionAt(browser: CookieBrowser, jwtOnly: Rp, stored: Rp, storedScope: "openid" | "documents:read") {
  const jwtTokens = await tokensFor(system, browser, jwtOnly.config, api);
  expect(jwtTokens.refresh_token).toBeUndefined();
  const sid = jwtTokens.claims()?.sid as string;
  expect(typeof sid).toBe("string");
  const storedTokens = await tokensFor(system, browser, stored.config, undefined, storedScope);
  expect(storedTokens.access_token.split(".")).toHaveLength(1);
  expect(storedTokens.id_token === undefined).toBe(storedScope === "documents:read");
  const held = await system.queryMain<{ n: number }>(
    "SELECT count(*) AS n FROM oidc_access_token WHERE session_id = ? AND client_id = ?",
    sid,
    stored.clientId,
  );
  expect(held[0]?.n).toBe(1);
  const recorded = storedScope === "openid" ? [jwtOnly.clientId, stored.clientId] : [jwtOnly.clientId];
  expect(await recordedClients(system, sid)).toEqual(expect.arrayContaining(recorded));
  expect((await recordedClients(system, sid)).includes(stored.clientId)).toBe(storedScope === "openid");
  return { sid, sub: jwtTokens.claims()?.sub as string };
}

/** The `sid` of every verified Logout Token POSTed to `path` for `clientId`, sorted. */
async function toldSessions(path: string, clientId: string, sub?: string): Promise<string[]> {
  const payloads = await Promise.all(
    receiver.deliveriesTo(path).map((d) => verifiedLogoutToken(system, d.logoutToken, clientId)),
  );
  if (sub) for (const payload of payloads) expect(payload.sub).toBe(sub);
  return payloads.map((payload) => payload.sid as string).sort();
}

describe("an operator's cut-off tells every client of each ended session", () => {
  it("a ban tells both clients of each of the person's two sessions once; an operator's sign-out of another person the same; a client with no URI nothing", async () => {
    const jwtOnly = await registeredRp(system, operator, "cut-off JWT only", receiver.uri("/cutoff/jwt"));
    const stored = await registeredRp(system, operator, "cut-off stored", receiver.uri("/cutoff/stored"));
    const silent = await registeredRp(system, operator, "cut-off no back-channel");

    // The banned person: two sessions, each at both clients; the first at the silent one too.
    const banned = await signedUpPerson(system);
    const first = await sessionAt(banned.browser, jwtOnly, stored, "documents:read");
    expect((await tokensFor(system, banned.browser, silent.config, api)).claims()?.sid).toBe(first.sid);
    const second = await sessionAt(await signedInBrowser(system, banned.email), jwtOnly, stored, "openid");
    expect(second.sub).toBe(first.sub);
    expect(await recordedClients(system, first.sid)).toEqual([jwtOnly.clientId, silent.clientId].sort());
    expect(await recordedClients(system, second.sid)).toEqual([jwtOnly.clientId, stored.clientId].sort());

    const ban = await operatorApi.admin("POST", `/users/${first.sub}/ban`, { reason: "back-channel test" });
    expect(ban.status).toBe(200);
    expect(await ban.json()).toMatchObject({ user_id: first.sub, banned: true, sessions_ended: 2 });
    await expect.poll(() => receiver.deliveriesTo("/cutoff/jwt").length, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => receiver.deliveriesTo("/cutoff/stored").length, { timeout: 10_000 }).toBe(2);
    expect(receiver.deliveriesTo("/cutoff/jwt")[0]?.contentType).toBe("application/x-www-form-urlencoded");
    const bannedSessions = [first.sid, second.sid].sort();
    expect(await toldSessions("/cutoff/jwt", jwtOnly.clientId, first.sub)).toEqual(bannedSessions);
    expect(await toldSessions("/cutoff/stored", stored.clientId, first.sub)).toEqual(bannedSessions);
    // The records went with the sessions.
    expect(await recordedClients(system, first.sid)).toEqual([]);

    // An operator's sign-out of another person: their one session's clients are told, and its answer is the
    // barrier: by the time it is told, no client got a second token for the banned person's sessions.
    const other = await signedUpPerson(system);
    const otherSession = await sessionAt(other.browser, jwtOnly, stored, "openid");
    const signOut = await operatorApi.admin("POST", `/users/${otherSession.sub}/sign-out`);
    expect(signOut.status).toBe(200);
    expect(await signOut.json()).toMatchObject({ user_id: otherSession.sub, sessions_ended: 1 });
    await expect.poll(() => receiver.deliveriesTo("/cutoff/jwt").length, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => receiver.deliveriesTo("/cutoff/stored").length, { timeout: 10_000 }).toBe(3);
    const all = [...bannedSessions, otherSession.sid].sort();
    expect(await toldSessions("/cutoff/jwt", jwtOnly.clientId)).toEqual(all);
    expect(await toldSessions("/cutoff/stored", stored.clientId)).toEqual(all);
    // Every delivery went to a registered back-channel URI: the client without one was contacted nowhere.
    const paths = ["/cutoff/", "/scim/", "/race/"];
    expect(receiver.received.every((d) => paths.some((prefix) => d.path.startsWith(prefix)))).toBe(true);
  });

  it("an unreachable receiver does not fail the ban, nor keep the session's other client from being told (§2.8)", async () => {
    const unreachable = await registeredRp(system, operator, "cut-off unreachable", await unreachableUri());
    const neighbour = await registeredRp(system, operator, "cut-off neighbour", receiver.uri("/cutoff/neighbour"));
    const person = await signedUpPerson(system);
    const tokens = await tokensFor(system, person.browser, unreachable.config, api);
    const sub = tokens.claims()?.sub as string;
    const sid = tokens.claims()?.sid as string;
    const { org_id } = decodeJwt(tokens.access_token);
    expect((await tokensFor(system, person.browser, neighbour.config, api)).claims()?.sid).toBe(sid);

    const ban = await operatorApi.admin("POST", `/users/${sub}/ban`, { reason: "unreachable receiver" });
    expect(ban.status).toBe(200);
    expect(await ban.json()).toEqual({
      user_id: sub,
      banned: true,
      banned_at: expect.any(String),
      reason: "unreachable receiver",
      revoked_in_orgs: [org_id],
      sessions_ended: 1,
    });
    // The session is gone whatever the receiver's fate, and the other client is told of it.
    expect(await system.queryMain("SELECT id FROM session WHERE user_id = ?", sub)).toEqual([]);
    await expect.poll(() => receiver.deliveriesTo("/cutoff/neighbour").length, { timeout: 10_000 }).toBe(1);
    expect(await toldSessions("/cutoff/neighbour", neighbour.clientId, sub)).toEqual([sid]);
  });
});

describe("cut-offs that race", () => {
  it("a ban and an operator's sign-out of the same person fired at once end the session once and tell each client once", async () => {
    const jwtOnly = await registeredRp(system, operator, "race JWT only", receiver.uri("/race/jwt"));
    const stored = await registeredRp(system, operator, "race stored", receiver.uri("/race/stored"));
    const person = await signedUpPerson(system);
    const session = await sessionAt(person.browser, jwtOnly, stored, "openid");

    const [ban, signOut] = await Promise.all([
      operatorApi.admin("POST", `/users/${session.sub}/ban`, { reason: "race" }),
      operatorApi.admin("POST", `/users/${session.sub}/sign-out`),
    ]);
    expect([ban.status, signOut.status]).toEqual([200, 200]);
    const ended = [
      ((await ban.json()) as { sessions_ended: number }).sessions_ended,
      ((await signOut.json()) as { sessions_ended: number }).sessions_ended,
    ];
    // Whom to tell is read in the delete's transaction: only the cut-off that ended the session tells.
    expect(ended.sort()).toEqual([0, 1]);
    await expect.poll(() => receiver.deliveriesTo("/race/jwt").length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => receiver.deliveriesTo("/race/stored").length, { timeout: 10_000 }).toBe(1);

    // Another person's sign-out is the barrier: by the time it is told, no second token came for the first.
    const other = await signedUpPerson(system);
    const otherSession = await sessionAt(other.browser, jwtOnly, stored, "documents:read");
    expect((await operatorApi.admin("POST", `/users/${otherSession.sub}/sign-out`)).status).toBe(200);
    await expect.poll(() => receiver.deliveriesTo("/race/jwt").length, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => receiver.deliveriesTo("/race/stored").length, { timeout: 10_000 }).toBe(2);
    const both = [session.sid, otherSession.sid].sort();
    expect(await toldSessions("/race/jwt", jwtOnly.clientId)).toEqual(both);
    expect(await toldSessions("/race/stored", stored.clientId)).toEqual(both);
  });
});

describe("SCIM deactivation tells every client of each ended session", () => {
  it("active=false ends the person's session and tells both its clients once", async () => {
    const jwtOnly = await registeredRp(system, operator, "SCIM JWT only", receiver.uri("/scim/jwt"));
    const stored = await registeredRp(system, operator, "SCIM stored", receiver.uri("/scim/stored"));
    const orgId = (await operator.json<{ id: string }>("org", "create", "--name", "Back-channel Directory")).id;
    const { token } = await operator.json<{ token: string }>("scim", "token", "create", "--org", orgId);

    const deactivated = await managedSession(orgId, jwtOnly, stored, "documents:read");
    const answer = await deactivate(token, deactivated.sub);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ id: deactivated.sub, active: false });
    expect(await system.queryMain("SELECT id FROM session WHERE user_id = ?", deactivated.sub)).toEqual([]);
    await expect.poll(() => receiver.deliveriesTo("/scim/jwt").length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => receiver.deliveriesTo("/scim/stored").length, { timeout: 10_000 }).toBe(1);
    expect(await toldSessions("/scim/jwt", jwtOnly.clientId, deactivated.sub)).toEqual([deactivated.sid]);
    expect(await toldSessions("/scim/stored", stored.clientId, deactivated.sub)).toEqual([deactivated.sid]);

    // A second deactivation, of another person, is the barrier: each client was told of the first once.
    const next = await managedSession(orgId, jwtOnly, stored, "openid");
    expect((await deactivate(token, next.sub)).status).toBe(200);
    await expect.poll(() => receiver.deliveriesTo("/scim/jwt").length, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => receiver.deliveriesTo("/scim/stored").length, { timeout: 10_000 }).toBe(2);
    const both = [deactivated.sid, next.sid].sort();
    expect(await toldSessions("/scim/jwt", jwtOnly.clientId)).toEqual(both);
    expect(await toldSessions("/scim/stored", stored.clientId)).toEqual(both);
  });
});

describe("SCIM deactivations that race", () => {
  it("two deactivations of the same person fired at once end the session once and tell each client once", async () => {
    const jwtOnly = await registeredRp(system, operator, "SCIM race JWT only", receiver.uri("/scim-race/jwt"));
    const stored = await registeredRp(system, operator, "SCIM race stored", receiver.uri("/scim-race/stored"));
    const orgId = (await operator.json<{ id: string }>("org", "create", "--name", "Racing Directory")).id;
    const { token } = await operator.json<{ token: string }>("scim", "token", "create", "--org", orgId);

    const deactivated = await managedSession(orgId, jwtOnly, stored, "openid");
    // The directory's PATCH and its retry, at once: both read the session before either deleted it.
    const answers = await Promise.all([deactivate(token, deactivated.sub), deactivate(token, deactivated.sub)]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(await system.queryMain("SELECT id FROM session WHERE user_id = ?", deactivated.sub)).toEqual([]);
    await expect.poll(() => receiver.deliveriesTo("/scim-race/jwt").length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => receiver.deliveriesTo("/scim-race/stored").length, { timeout: 10_000 }).toBe(1);

    // Another person's deactivation is the barrier: by the time it is told, no second token came for the first.
    const next = await managedSession(orgId, jwtOnly, stored, "documents:read");
    expect((await deactivate(token, next.sub)).status).toBe(200);
    await expect.poll(() => receiver.deliveriesTo("/scim-race/jwt").length, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => receiver.deliveriesTo("/scim-race/stored").length, { timeout: 10_000 }).toBe(2);
    const both = [deactivated.sid, next.sid].sort();
    expect(await toldSessions("/scim-race/jwt", jwtOnly.clientId)).toEqual(both);
    expect(await toldSessions("/scim-race/stored", stored.clientId)).toEqual(both);
  });
});

/**
 * A person with a session at both clients whom the org's directory manages:
 * their membership and SCIM row as scim/user-store.ts insertUser writes
 * them (provisioned people sign in through the org's SSO, which a test
 * cannot drive to the consent page; the account's origin does not matter
 * to deprovisioning: test/authn/scim-deprovision-oauth.test.ts).
 */
async function managedSession(orgId: string, jwtOnly: Rp, stored: Rp, storedScope: "openid" | "documents:read") {
  const person = await signedUpPerson(system);
  const session = await sessionAt(person.browser, jwtOnly, stored, storedScope);
  const now = Date.now();
  await system.execMain(
    "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
    crypto.randomUUID(),
    orgId,
    session.sub,
    now,
  );
  await system.execMain(
    `INSERT INTO scim_user (user_id, org_id, user_name, user_name_key, active, created_at, updated_at)
     VALUES (?, ?, ?, ?, 1, ?, ?)`,
    session.sub,
    orgId,
    person.email,
    person.email.toLowerCase(),
    now,
    now,
  );
  return session;
}

function deactivate(token: string, userId: string): Promise<Response> {
  return system.fetch(`${ENDPOINT.scim}/Users/${userId}`, {
    method: "PATCH",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
    body: JSON.stringify({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", path: "active", value: false }],
    }),
  });
}
