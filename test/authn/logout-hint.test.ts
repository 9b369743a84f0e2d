// RP-initiated logout's id_token_hint, verified as an ID token of ours before
// Better Auth trusts it (workers/authn/src/oidc/logout-hint.ts): hostile
// hints, in the query, a form or a JSON body, get Better Auth's own refusal
// for an unusable hint (never a 500) and end no session. That a JWT our key
// signed with another `typ` is refused, which Better Auth alone would take,
// is proven where Better Auth can fetch the issuer's JWKS: the whole system
// on one origin (test/e2e/openid-client-logout.test.ts). A refused hint reaches
// Better Auth voided at its header, so Better Auth fetches no key for it:
// there is no server at the issuer's URL here, and each such fetch failed as
// an unhandled rejection in this file's output.
import { env, exports } from "cloudflare:workers";
import { base64url, decodeJwt, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { ORIGIN } from "./helpers.ts";
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
  it("each gets Better Auth's refusal for an unusable hint with its exact code, and the session lives", async () => {
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
      ["not a JWT", () => endSession(q("not-a-jwt")), 400, "invalid_client"],
      // Better Auth finds the client in the payload; the voided signature then fails.
      ["a header that is not JSON", () => endSession(q(badHeader)), 401, "invalid_token"],
      ["alg none", () => endSession(q(unsecured)), 401, "invalid_token"],
      ["HS256 under the client's secret", () => endSession(q(hmac)), 401, "invalid_token"],
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
        401,
        "invalid_token",
      ],
      [
        "HS256 in a JSON body",
        () => endSession("", { body: JSON.stringify({ id_token_hint: hmac }), type: "application/json" }),
        401,
        "invalid_token",
      ],
      // RFC 6749 §3.1's rule, as Better Auth applies it to this endpoint.
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
});
