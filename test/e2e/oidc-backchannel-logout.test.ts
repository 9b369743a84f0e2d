// OIDC Back-Channel Logout 1.0 as a Keycloak user expects it: every client
// with a `backchannel_logout_uri` that was issued a token naming a session is
// told when that session ends, including one that holds only an ID token and
// a JWT access token (no token Better Auth stored, so Better Auth's own hook
// leaves it out; workers/authn/src/oidc/backchannel-logout.ts sends it). The
// receivers are real HTTP servers; each token is verified as an RP must
// (§2.6). The back-channel test of test/e2e/openid-client-logout.test.ts covers the
// client Better Auth itself tells (an opaque access token).
import { decodeJwt, decodeProtectedHeader } from "jose";
import * as client from "openid-client";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { JWT_TYP } from "../../shared/contracts/tokens.ts";
import {
  backchannelSystem,
  type LogoutReceiver,
  recordedClients,
  registeredRp,
  signedUpBrowser,
  stallingReceiver,
  tokensFor,
  unreachableUri,
  verifiedLogoutToken,
} from "../support/backchannel-logout.ts";
import type { OperatorCli } from "../support/operator-cli.ts";
import type { RunningSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: OperatorCli;
let receiver: LogoutReceiver;

/** RP-initiated logout with the ID token, as the RP's server sends it. */
async function endSession(rp: client.Configuration, idToken: string): Promise<Response> {
  const url = client.buildEndSessionUrl(rp, { id_token_hint: idToken });
  return system.fetch(`${url.pathname}${url.search}`, { headers: { Accept: "application/json" } });
}

backchannelSystem("oidc-backchannel", (setup) => {
  ({ system, operator, receiver } = setup);
});

describe("back-channel logout reaches every client issued a token of the session", () => {
  it("a client holding only an ID token and a JWT access token gets one verifiable Logout Token; one holding a stored token gets one too; one with no URI nothing", async () => {
    const api = `${system.origin}/api`;
    const jwtOnly = await registeredRp(system, operator, "JWT only", receiver.uri("/jwt-only"));
    const stored = await registeredRp(system, operator, "stored token", receiver.uri("/stored"));
    const silent = await registeredRp(system, operator, "no back-channel");
    const browser = await signedUpBrowser(system);

    // One browser session, three clients. The first gets no refresh token (no offline_access) and a JWT
    // access token (a resource): nothing Better Auth stores. The second an opaque one, which it stores.
    const jwtTokens = await tokensFor(system, browser, jwtOnly.config, api);
    expect(jwtTokens.refresh_token).toBeUndefined();
    expect(decodeProtectedHeader(jwtTokens.access_token).typ).toBe(JWT_TYP.accessToken);
    const storedTokens = await tokensFor(system, browser, stored.config);
    expect(storedTokens.access_token.split(".")).toHaveLength(1);
    const silentTokens = await tokensFor(system, browser, silent.config, api);
    const sid = jwtTokens.claims()?.sid as string;
    expect(typeof sid).toBe("string");
    expect(storedTokens.claims()?.sid).toBe(sid);
    expect(silentTokens.claims()?.sid).toBe(sid);
    // The issuer recorded each client before it signed.
    expect(await recordedClients(system, sid)).toEqual([jwtOnly.clientId, silent.clientId, stored.clientId].sort());

    const ended = await endSession(jwtOnly.config, jwtTokens.id_token ?? "");
    expect(ended.status).toBe(200);
    expect((await browser.get(`${system.origin}${ENDPOINT.app}`)).status).toBe(303);

    await expect.poll(() => receiver.deliveriesTo("/jwt-only").length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => receiver.deliveriesTo("/stored").length, { timeout: 10_000 }).toBe(1);
    const [delivery] = receiver.deliveriesTo("/jwt-only");
    expect(delivery?.contentType).toBe("application/x-www-form-urlencoded");
    const payload = await verifiedLogoutToken(system, delivery?.logoutToken ?? "", jwtOnly.clientId);
    expect(payload.sid).toBe(sid);
    expect(payload.sub).toBe(jwtTokens.claims()?.sub);
    const storedPayload = await verifiedLogoutToken(
      system,
      receiver.deliveriesTo("/stored")[0]?.logoutToken ?? "",
      stored.clientId,
    );
    expect(storedPayload.sid).toBe(sid);
    // The records went with the session.
    expect(await recordedClients(system, sid)).toEqual([]);

    // A later session's end, told to the first client only, is the barrier: by the time it arrives the
    // first logout's deliveries are done, and no client got a second token for the same session.
    const later = await signedUpBrowser(system);
    const laterTokens = await tokensFor(system, later, jwtOnly.config, api);
    expect((await endSession(jwtOnly.config, laterTokens.id_token ?? "")).status).toBe(200);
    await expect.poll(() => receiver.deliveriesTo("/jwt-only").length, { timeout: 10_000 }).toBe(2);
    expect(receiver.deliveriesTo("/stored")).toHaveLength(1);
    const sessions = await Promise.all(
      receiver
        .deliveriesTo("/jwt-only")
        .map(async (d) => (await verifiedLogoutToken(system, d.logoutToken, jwtOnly.clientId)).sid),
    );
    expect(sessions).toEqual([sid, laterTokens.claims()?.sid]);
    // Every delivery went to a registered back-channel URI: the client without one was contacted nowhere.
    expect(receiver.received.every((d) => d.path === "/jwt-only" || d.path === "/stored")).toBe(true);
  });

  it("a signed-out person's session reaches the JWT-only client the same way (sign-out, not RP-initiated logout)", async () => {
    const jwtOnly = await registeredRp(system, operator, "JWT only, sign-out", receiver.uri("/sign-out"));
    const browser = await signedUpBrowser(system);
    const tokens = await tokensFor(system, browser, jwtOnly.config, `${system.origin}/api`);
    const signOut = await browser.postJson(`${ENDPOINT.authApi}/sign-out`);
    expect(signOut.status).toBe(200);
    await expect.poll(() => receiver.deliveriesTo("/sign-out").length, { timeout: 10_000 }).toBe(1);
    const payload = await verifiedLogoutToken(
      system,
      receiver.deliveriesTo("/sign-out")[0]?.logoutToken ?? "",
      jwtOnly.clientId,
    );
    expect(payload.sid).toBe(tokens.claims()?.sid);
    expect(payload.sub).toBe(tokens.claims()?.sub);
  });

  it("two receivers that never answer do not keep the third client of the session from its Logout Token", async () => {
    // shared/oidc/backchannel-logout.ts: every client's delivery starts at once, each with its own timeout, so a
    // stall (on purpose: a Client ID Metadata Document names its own URI) costs only its own client.
    const stalling = await stallingReceiver();
    try {
      const api = `${system.origin}/api`;
      const first = await registeredRp(system, operator, "stalling one", stalling.uri("/stall/one"));
      const second = await registeredRp(system, operator, "stalling two", stalling.uri("/stall/two"));
      const answering = await registeredRp(system, operator, "answering", receiver.uri("/beside-stalls"));
      const browser = await signedUpBrowser(system);
      // JWT access tokens (a resource): nothing Better Auth stores, so this project's sender tells all three.
      const tokens = await tokensFor(system, browser, answering.config, api);
      await tokensFor(system, browser, first.config, api);
      await tokensFor(system, browser, second.config, api);
      const sid = tokens.claims()?.sid as string;
      expect(await recordedClients(system, sid)).toEqual([first.clientId, second.clientId, answering.clientId].sort());

      const signOut = await browser.postJson(`${ENDPOINT.authApi}/sign-out`);
      expect(signOut.status).toBe(200);

      // Within the sending window (20 s to start, each delivery 4 s at most), whatever the stalls do.
      await expect.poll(() => receiver.deliveriesTo("/beside-stalls").length, { timeout: 25_000 }).toBe(1);
      const logoutToken = receiver.deliveriesTo("/beside-stalls")[0]?.logoutToken ?? "";
      const payload = await verifiedLogoutToken(system, logoutToken, answering.clientId);
      // OIDC Back-Channel Logout 1.0 §2.4, claim by claim as sent.
      const claims = decodeJwt(logoutToken);
      expect(claims.iss).toBe(system.origin);
      expect(claims.aud).toBe(answering.clientId);
      expect(claims.sid).toBe(sid);
      expect(claims.sub).toBe(tokens.claims()?.sub);
      expect(claims.events).toEqual({ "http://schemas.openid.net/event/backchannel-logout": {} });
      expect(payload.jti).toBe(claims.jti);
      // Both stalling receivers were sent theirs too (one attempt each, §2.5), not skipped.
      await expect.poll(() => [...stalling.arrivals].sort(), { timeout: 25_000 }).toEqual(["/stall/one", "/stall/two"]);
      expect(receiver.deliveriesTo("/beside-stalls")).toHaveLength(1);
    } finally {
      stalling.close();
    }
  });

  it("an unreachable receiver does not fail the logout (§2.8: best effort)", async () => {
    // A port that was just listening and is closed now: the connection is refused.
    const unreachable = await registeredRp(system, operator, "unreachable", await unreachableUri());
    const browser = await signedUpBrowser(system);
    const tokens = await tokensFor(system, browser, unreachable.config, `${system.origin}/api`);
    const api = () => system.fetch("/api/documents", { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect((await api()).status).toBe(200);

    const ended = await endSession(unreachable.config, tokens.id_token ?? "");
    expect(ended.status).toBe(200);
    expect((await browser.get(`${system.origin}${ENDPOINT.app}`)).status).toBe(303);
    // The session's end is still a revocation: the gateway refuses its access token.
    await expect.poll(async () => (await api()).status, { timeout: 10_000 }).toBe(401);
  });
});
