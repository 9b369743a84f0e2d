// RP-initiated logout's id_token_hint, verified as an ID token of ours before
// Better Auth trusts it (workers/authn/src/oidc/logout-hint.ts): a hint that
// fails, in the query, a form or a JSON body — hostile, or ours under a key
// since retired — is taken out, so Better Auth answers as to a request
// without one (RP-Initiated Logout 1.0 §4: what failed validation MUST NOT
// be used; §2: the OP MUST then ask the End-User): a browser is asked to
// confirm, anything else gets `400 invalid_request` (or `invalid_client` for
// the client_id it names), never a 500, and no session ends. That a JWT our
// key signed with another `typ` is refused, which Better Auth alone would
// take, is proven where Better Auth can fetch the issuer's JWKS: the whole
// system on one origin (test/e2e/openid-client-logout.test.ts). A refused
// hint never reaches Better Auth, so it fetches no key for it: there is no
// server at the issuer's URL here, and each such fetch failed as an
// unhandled rejection in this file's output.
import { env, exports } from "cloudflare:workers";
import { base64url, decodeJwt, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { ORIGIN } from "./helpers.ts";
import { ISSUER } from "./oidc-helpers.ts";
import { oidc } from "./oidc-helpers.ts";

const JSON_ONLY = { Accept: "application/json" };
const NAVIGATE = { Accept: "text/html", "Sec-Fetch-Mode": "navigate" };

async function sessionExists(id: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM session WHERE id = ?").bind(id).first<{ n: number }>();
  return row?.n === 1;
}

const segment = (value: unknown) => base64url.encode(JSON.stringify(value));

function endSession(query: string, init: { body?: string; type?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...JSON_ONLY, ...init.headers };
  if (init.type) headers["Content-Type"] = init.type;
  return exports.default.fetch(
    new Request(`${ORIGIN}${OIDC_ENDPOINT.endSession}${query}`, {
      method: init.body === undefined ? "GET" : "POST",
      headers: init.body === undefined ? headers : { Origin: ORIGIN, ...headers },
      body: init.body,
      redirect: "manual",
    }),
  );
}

describe("RP-initiated logout: hostile id_token_hints", () => {
  it("each is taken out, so Better Auth answers as to no hint, with its exact code, and the session lives", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    const claims = decodeJwt(tokens.id_token ?? "");
    const sid = String(claims.sid);
    const body = { iss: claims.iss, sub: claims.sub, aud: client.clientId, sid };
    const unsecured = `${segment({ alg: "none", typ: "JWT" })}.${segment(body)}.`;
    const hmac = await new SignJWT(body)
      .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: String(decodeJwt(tokens.access_token).kid ?? "k") })
      .sign(new TextEncoder().encode(client.clientSecret));
    const badHeader = `${base64url.encode("{not json")}.${segment(body)}.c2ln`;
    const q = (hint: string, extra: Record<string, string> = {}) =>
      `?${new URLSearchParams({ id_token_hint: hint, ...extra })}`;

    const cases: [string, () => Promise<Response>, number, string][] = [
      // No session cookie and, the hint taken out, nothing that names one: no logout to confirm.
      ["not a JWT", () => endSession(q("not-a-jwt")), 400, "invalid_request"],
      ["a header that is not JSON", () => endSession(q(badHeader)), 400, "invalid_request"],
      ["alg none", () => endSession(q(unsecured)), 400, "invalid_request"],
      ["HS256 under the client's secret", () => endSession(q(hmac)), 400, "invalid_request"],
      [
        "a genuine hint for another client_id",
        () => endSession(q(tokens.id_token ?? "", { client_id: "oidc_other" })),
        400,
        "invalid_client",
      ],
      [
        "HS256 in a form body",
        () =>
          endSession("", {
            body: new URLSearchParams({ id_token_hint: hmac }).toString(),
            type: "application/x-www-form-urlencoded",
          }),
        400,
        "invalid_request",
      ],
      [
        "HS256 in a JSON body",
        () => endSession("", { body: JSON.stringify({ id_token_hint: hmac }), type: "application/json" }),
        400,
        "invalid_request",
      ],
      ["HS256 twice in the query", () => endSession(`${q(hmac)}&id_token_hint=${hmac}`), 400, "invalid_request"],
    ];
    for (const [name, send, status, error] of cases) {
      const response = await send();
      expect({ name, status: response.status, body: await response.json() }).toMatchObject({
        name,
        status,
        body: { error },
      });
    }
    expect(await sessionExists(sid)).toBe(true);

    // A signed-in browser whose hint is refused is asked to confirm instead (RP-Initiated Logout §2).
    const asked = await endSession(q(hmac), { headers: { ...NAVIGATE, Cookie: person.cookie } });
    expect(asked.status).toBe(200);
    expect(await asked.text()).toContain("<h1>Sign out?</h1>");
    expect(await sessionExists(sid)).toBe(true);
  });

  it("an ID token of ours under a key since retired: every browser is asked to confirm, and its client steers nothing", async () => {
    const back = "https://rp.example.test/signed-out";
    const client = await oidc.browserClient({ postLogoutRedirectUris: [back] });
    const person = await oidc.signUp("Retired Key Logout");
    // Right in every claim, signed by a key the issuer does not publish: what a retired key's ID token is to the OP.
    const { privateKey } = await generateKeyPair("ES256");
    const hint = await new SignJWT({ sub: person.userId, sid: person.sessionId })
      .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: `retired-${crypto.randomUUID()}` })
      .setIssuer(ISSUER)
      .setAudience(client.clientId)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(privateKey);
    const ask = (extra: Record<string, string>, headers: Record<string, string>) =>
      endSession(`?${new URLSearchParams({ id_token_hint: hint, post_logout_redirect_uri: back, ...extra })}`, {
        headers,
      });
    const asked = async (response: Response) => ({
      status: response.status,
      confirm: (await response.text()).includes("<h1>Sign out?</h1>"),
      formAction: /form-action [^;]*/.exec(response.headers.get("Content-Security-Policy") ?? "")?.[0],
    });

    // RP-Initiated Logout §2: the OP MUST ask; §4: the hint's `aud` MUST NOT choose where the browser returns.
    expect(await asked(await ask({}, NAVIGATE))).toEqual({
      status: 200,
      confirm: true,
      formAction: "form-action 'self'",
    });
    expect(await asked(await ask({}, { ...NAVIGATE, Cookie: person.cookie }))).toEqual({
      status: 200,
      confirm: true,
      formAction: "form-action 'self'",
    });
    // §3: a client_id the request names, with a URI registered for it exactly, may still be returned to.
    expect(await asked(await ask({ client_id: client.clientId }, { ...NAVIGATE, Cookie: person.cookie }))).toEqual({
      status: 200,
      confirm: true,
      formAction: "form-action 'self' https://rp.example.test",
    });
    const notBrowser = await ask({}, {});
    expect({ status: notBrowser.status, body: await notBrowser.json() }).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: "No active session is available for logout" },
    });
    expect(await sessionExists(person.sessionId)).toBe(true);
  });
});
