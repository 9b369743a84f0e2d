// What a back-channel logout test over HTTP needs: a real receiver (a Node
// HTTP server recording every Logout Token POSTed to it, by path) and the
// whole system started beside it for the file's tests, relying
// parties registered by an operator and discovered by openid-client, a
// person's browser session and the tokens a client got in it, and a Logout
// Token verified as an RP must (OIDC Back-Channel Logout 1.0 §2.6).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as client from "openid-client";
import { afterAll, beforeAll, expect } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { BACKCHANNEL_LOGOUT_EVENT } from "../../shared/contracts/oidc.ts";
import { JWT_TYP, SIGNING_ALG } from "../../shared/contracts/tokens.ts";
import { answerConsentPage } from "./consent-form.ts";
import { CookieBrowser } from "./cookie-browser.ts";
import {
  authorizationRequest,
  discoveredRp,
  PASSWORD,
  REDIRECT_URI,
  redeemed,
  signedUpPerson,
} from "./openid-client-rp.ts";
import { type OperatorCli, operatorCli } from "./operator-cli.ts";
import { type RunningSystem, startSystem } from "./system.ts";

export { signedUpPerson };

export interface Delivery {
  path: string;
  contentType: string | undefined;
  logoutToken: string;
}

export interface LogoutReceiver {
  /** A back-channel logout URI on this receiver. */
  uri(path: string): string;
  /** Every Logout Token delivery POSTed to `path`, in arrival order. */
  deliveriesTo(path: string): Delivery[];
  /** Every delivery, to any path. */
  readonly received: readonly Delivery[];
  close(): void;
}

/** A receiver on 127.0.0.1 that answers 200 to every POST and records its `logout_token`. */
export async function logoutReceiver(): Promise<LogoutReceiver> {
  const received: Delivery[] = [];
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      received.push({
        path: request.url ?? "",
        contentType: request.headers["content-type"],
        logoutToken: new URLSearchParams(body).get("logout_token") ?? "",
      });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    uri: (path) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    deliveriesTo: (path) => received.filter((delivery) => delivery.path === path),
    received,
    close: () => server.close(),
  };
}

export interface StallingReceiver {
  /** A back-channel logout URI on this receiver. */
  uri(path: string): string;
  /** The paths POSTed to so far, in arrival order; none was ever answered. */
  readonly arrivals: readonly string[];
  close(): void;
}

/**
 * A receiver on 127.0.0.1 that takes every request and never answers, as
 * one stalling on purpose would (anyone may publish a Client ID Metadata
 * Document naming one): the sender's own timeout is all that ends a delivery.
 */
export async function stallingReceiver(): Promise<StallingReceiver> {
  const arrivals: string[] = [];
  const server: Server = createServer((request) => {
    arrivals.push(request.url ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    uri: (path) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    arrivals,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

export interface BackchannelSystem {
  receiver: LogoutReceiver;
  system: RunningSystem;
  /** An operator's CLI session, to register relying parties. */
  operator: OperatorCli;
}

/**
 * Before the file's tests: a Logout Token receiver, the whole system and an
 * operator (`operatorName`), handed to `started` (which may set up more);
 * after them, stops the system and the receiver.
 */
export function backchannelSystem(
  operatorName: string,
  started: (setup: BackchannelSystem) => void | Promise<void>,
): void {
  let setup: Partial<BackchannelSystem> = {};
  beforeAll(async () => {
    setup.receiver = await logoutReceiver();
    setup.system = await startSystem();
    setup.operator = await operatorCli(setup.system, operatorName);
    await started(setup as BackchannelSystem);
  });
  afterAll(async () => {
    await setup.system?.close();
    setup.receiver?.close();
    setup = {};
  });
}

/** A back-channel URI nobody listens at: a port that was just listening and is closed now (connection refused). */
export async function unreachableUri(): Promise<string> {
  const gone = createServer();
  await new Promise<void>((resolve) => gone.listen(0, "127.0.0.1", resolve));
  const port = (gone.address() as AddressInfo).port;
  await new Promise<void>((resolve) => gone.close(() => resolve()));
  return `http://127.0.0.1:${port}/backchannel`;
}

/** An operator-registered relying party, discovered by openid-client. */
export async function registeredRp(
  system: RunningSystem,
  operator: OperatorCli,
  name: string,
  backchannelLogoutUri?: string,
) {
  const rp = await operator.json<{ client_id: string; client_secret: string; backchannel_logout_uri: string | null }>(
    ...["oidc-client", "create", "--name", `openid-client RP ${name}`, "--redirect-uri", REDIRECT_URI],
    ...(backchannelLogoutUri ? ["--backchannel-logout-uri", backchannelLogoutUri] : []),
    ...["--scope", "openid documents:read"],
  );
  expect(rp.backchannel_logout_uri).toBe(backchannelLogoutUri ?? null);
  return { clientId: rp.client_id, config: await discoveredRp(system, rp.client_id, rp.client_secret) };
}

export async function signedUpBrowser(system: RunningSystem): Promise<CookieBrowser> {
  return (await signedUpPerson(system)).browser;
}

/** The same person in another browser: a second session. */
export async function signedInBrowser(system: RunningSystem, email: string): Promise<CookieBrowser> {
  const browser = new CookieBrowser(system);
  const response = await browser.post(ENDPOINT.signIn, { email, password: PASSWORD });
  expect(response.status).toBe(303);
  return browser;
}

/**
 * Authorize (consent: Allow) and redeem in the browser's session; with
 * `resource`, the access token is a JWT Better Auth does not store. `scope`
 * without `openid` gets no ID token: only an access token.
 */
export async function tokensFor(
  system: RunningSystem,
  browser: CookieBrowser,
  rp: client.Configuration,
  resource?: string,
  scope = resource ? "openid documents:read" : "openid",
) {
  const request = await authorizationRequest(rp, scope, resource);
  const authorize = await browser.get(request.url.href);
  // Node's fetch is not a navigation: Better Auth answers the redirect as JSON (test/support/openid-client-rp.ts).
  expect(authorize.status).toBe(200);
  const next = new URL(((await authorize.json()) as { url: string }).url, system.origin);
  // The person consented to the client before (in another session): straight back with the code.
  const callback = next.href.startsWith(REDIRECT_URI) ? next : await consented(browser, next);
  return redeemed(rp, callback, request);
}

/** The consent page answered "Allow": where it sends the browser (the client's callback with the code). */
async function consented(browser: CookieBrowser, consent: URL): Promise<URL> {
  expect(consent.pathname).toBe(ENDPOINT.consent);
  const answer = await answerConsentPage(browser, consent);
  expect(answer.status).toBe(303);
  return new URL(answer.headers.get("Location") ?? "");
}

/** OIDC Back-Channel Logout 1.0 §2.6: validated as an ID token (alg pinned, iss, aud), `typ` logout+jwt, then its own claims. */
export async function verifiedLogoutToken(system: RunningSystem, logoutToken: string, clientId: string) {
  const { payload } = await jwtVerify(logoutToken, createRemoteJWKSet(new URL(`${system.origin}${ENDPOINT.jwks}`)), {
    issuer: system.origin,
    audience: clientId,
    algorithms: [SIGNING_ALG],
    typ: JWT_TYP.logoutToken,
  });
  expect(payload.events).toEqual({ [BACKCHANNEL_LOGOUT_EVENT]: {} });
  expect(payload.nonce).toBeUndefined();
  expect(typeof payload.jti).toBe("string");
  expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(120);
  return payload;
}

/**
 * Records every session of the person as one `clientId` was issued a token
 * naming (D1 `oidc_session_client`), as the issuer records it, so that a
 * test need not sign in to the client in each session.
 */
export async function recordSessionsAt(system: RunningSystem, userId: string, clientId: string): Promise<void> {
  await system.execMain(
    "INSERT INTO oidc_session_client (session_id, client_id, created_at) SELECT id, ?2, ?3 FROM session WHERE user_id = ?1",
    userId,
    clientId,
    Date.now(),
  );
}

/**
 * A new person with `extra` sessions besides their sign-up's (in `browser`),
 * written straight to D1 as Better Auth writes them, every session recorded
 * at each of `clientIds`: the person's id and every session's id, sorted.
 */
export async function personWithSessions(system: RunningSystem, extra: number, clientIds: readonly string[]) {
  const { browser, email } = await signedUpPerson(system);
  const [person] = await system.queryMain<{ id: string }>('SELECT id FROM "user" WHERE email = ?', email);
  const userId = person?.id as string;
  const prefix = `sessions-${crypto.randomUUID()}-`;
  const now = Date.now();
  await system.execMain(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?5)
     INSERT INTO session (id, token, user_id, expires_at, created_at, updated_at)
     SELECT ?1 || i, ?1 || 'token-' || i, ?2, ?3, ?4, ?4 FROM n`,
    prefix,
    userId,
    now + 3_600_000,
    now,
    extra,
  );
  for (const clientId of clientIds) await recordSessionsAt(system, userId, clientId);
  const rows = await system.queryMain<{ id: string }>("SELECT id FROM session WHERE user_id = ? ORDER BY id", userId);
  const sessionIds = rows.map((row) => row.id);
  expect(sessionIds).toHaveLength(extra + 1);
  return { browser, userId, sessionIds };
}

/** The clients the issuer recorded signing a token naming the session for (D1 `oidc_session_client`). */
export async function recordedClients(system: RunningSystem, sessionId: string): Promise<string[]> {
  const rows = await system.queryMain<{ client_id: string }>(
    "SELECT client_id FROM oidc_session_client WHERE session_id = ? ORDER BY client_id",
    sessionId,
  );
  return rows.map((row) => row.client_id);
}
