/**
 * A third-party OAuth 2.0 authorization server (test only): the provider the
 * saved-token vault connects to as a client. It does what a careful provider
 * does, so the vault's client side is tested against the protocol rather than
 * against our own assumptions:
 *
 * - `GET /authorize`: RFC 6749 §4.1.1 with PKCE (RFC 7636; S256 only). The
 *   person "approves" at once: 302 to `redirect_uri` with `code` and `state`.
 *   `deny=1` answers `error=access_denied` instead (§4.1.2.1); `expires_in=N`
 *   sets the lifetime of the tokens issued from this code.
 * - `POST /token`: `authorization_code` (code single use, `redirect_uri`
 *   exactly as sent, `code_verifier` checked) and `refresh_token` (rotated:
 *   the old one is spent, RFC 9700 §4.14.2), for its one confidential client
 *   (`client_secret_basic`) and one public client (`client_id` only).
 * - `POST /introspect`: RFC 7662 `{ active }` for an access token.
 * - `POST /revoke`: RFC 7009 §2.1 for the same clients, either token type;
 *   200 also for a token it does not know (§2.2). `status=N` in its query
 *   answers N and revokes nothing (a provider that is down).
 * - `GET /revocations?tag=T`: the revocation requests received for tokens
 *   issued under `tag=T`: the hint, how the client authenticated, which
 *   kind of token it was, and the status answered.
 * - `GET /requests?tag=T`: the token requests received for codes issued
 *   under `tag=T` (a test's own provider sets it on its authorization
 *   endpoint), without their secrets: grant type, how the client
 *   authenticated, whether a verifier came.
 */

const CLIENTS: Record<string, string | null> = {
  "vault-test-client": "vault-test-secret",
  "vault-public-client": null,
};

interface PendingCode {
  tag: string;
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  ttl: number;
}

interface Grant {
  tag: string;
  clientId: string;
  scope: string;
  ttl: number;
}

const codes = new Map<string, PendingCode>();
const refreshTokens = new Map<string, Grant>();
const accessTokens = new Map<string, { expires: number; tag: string }>();
const requests: { tag: string; grant_type: string; client_auth: string; code_verifier: boolean }[] = [];
const revocations: { tag: string; token_type_hint: string; client_auth: string; token: string; status: number }[] = [];

/** A form body, read as bytes (workerd warns when a form is read with `.text()`). */
async function form(request: Request): Promise<URLSearchParams> {
  return new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
}

function random(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `${prefix}${btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "")}`;
}

async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function oauthError(error: string, status = 400): Response {
  return Response.json({ error }, { status, headers: { "Cache-Control": "no-store" } });
}

function issue(grant: Grant): Response {
  const accessToken = random("up-at-");
  const refreshToken = random("up-rt-");
  accessTokens.set(accessToken, { expires: Date.now() + grant.ttl * 1000, tag: grant.tag });
  refreshTokens.set(refreshToken, grant);
  return Response.json(
    {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: grant.ttl,
      refresh_token: refreshToken,
      scope: grant.scope,
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

/** RFC 6749 §2.3.1: Basic with the form-urlencoded id and secret, or a public client's `client_id`. */
function authenticate(request: Request, form: URLSearchParams): { clientId: string; method: string } | undefined {
  const header = request.headers.get("Authorization");
  if (header?.startsWith("Basic ")) {
    const [id, secret] = atob(header.slice(6))
      .split(":")
      .map((v) => decodeURIComponent(v.replace(/\+/g, " ")));
    if (id && CLIENTS[id] && CLIENTS[id] === secret) return { clientId: id, method: "client_secret_basic" };
    return undefined;
  }
  const id = form.get("client_id");
  if (id && id in CLIENTS && CLIENTS[id] === null) return { clientId: id, method: "none" };
  return undefined;
}

async function token(request: Request): Promise<Response> {
  const params = await form(request);
  const client = authenticate(request, params);
  const tag =
    codes.get(params.get("code") ?? "")?.tag ?? refreshTokens.get(params.get("refresh_token") ?? "")?.tag ?? "";
  requests.push({
    tag,
    grant_type: params.get("grant_type") ?? "",
    client_auth: client?.method ?? "failed",
    code_verifier: params.has("code_verifier"),
  });
  if (!client) return oauthError("invalid_client", 401);
  if (params.get("grant_type") === "authorization_code") {
    const code = params.get("code") ?? "";
    const pending = codes.get(code);
    codes.delete(code);
    if (!pending || pending.clientId !== client.clientId) return oauthError("invalid_grant");
    if (params.get("redirect_uri") !== pending.redirectUri) return oauthError("invalid_grant");
    if ((await s256(params.get("code_verifier") ?? "")) !== pending.challenge) return oauthError("invalid_grant");
    return issue({ tag: pending.tag, clientId: client.clientId, scope: pending.scope, ttl: pending.ttl });
  }
  if (params.get("grant_type") === "refresh_token") {
    const presented = params.get("refresh_token") ?? "";
    const grant = refreshTokens.get(presented);
    refreshTokens.delete(presented);
    if (!grant || grant.clientId !== client.clientId) return oauthError("invalid_grant");
    return issue(grant);
  }
  return oauthError("unsupported_grant_type");
}

/** RFC 7009 §2.1: the client's own tokens only; no cascade, so a test sees each token revoked by its own request. */
async function revoke(request: Request, url: URL): Promise<Response> {
  const params = await form(request);
  const client = authenticate(request, params);
  const presented = params.get("token") ?? "";
  const refresh = refreshTokens.get(presented);
  const access = accessTokens.get(presented);
  const failing = Number(url.searchParams.get("status") ?? "200");
  const status = !client ? 401 : failing;
  revocations.push({
    tag: refresh?.tag ?? access?.tag ?? "",
    token_type_hint: params.get("token_type_hint") ?? "",
    client_auth: client?.method ?? "failed",
    token: refresh ? "refresh_token" : access ? "access_token" : "unknown",
    status,
  });
  if (!client) return oauthError("invalid_client", 401);
  if (status !== 200) return new Response("unavailable", { status });
  if (refresh?.clientId === client.clientId) refreshTokens.delete(presented);
  if (access) accessTokens.delete(presented);
  return new Response(null, { status: 200 });
}

function authorize(url: URL): Response {
  const p = url.searchParams;
  const clientId = p.get("client_id") ?? "";
  const redirectUri = p.get("redirect_uri") ?? "";
  if (!(clientId in CLIENTS) || !redirectUri) return oauthError("invalid_request");
  const back = new URL(redirectUri);
  const state = p.get("state");
  if (state) back.searchParams.set("state", state);
  if (p.get("response_type") !== "code" || p.get("code_challenge_method") !== "S256" || !p.get("code_challenge")) {
    back.searchParams.set("error", "invalid_request");
  } else if (p.get("deny") === "1") {
    back.searchParams.set("error", "access_denied");
  } else {
    const code = random("up-code-");
    codes.set(code, {
      tag: p.get("tag") ?? "",
      clientId,
      redirectUri,
      challenge: p.get("code_challenge") ?? "",
      scope: p.get("scope") ?? "",
      ttl: Number(p.get("expires_in") ?? "3600"),
    });
    back.searchParams.set("code", code);
  }
  return new Response(null, { status: 302, headers: { Location: back.toString() } });
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/authorize") return authorize(url);
    if (request.method === "POST" && url.pathname === "/token") return token(request);
    if (request.method === "POST" && url.pathname === "/introspect") {
      const access = accessTokens.get((await form(request)).get("token") ?? "");
      return Response.json({ active: access !== undefined && access.expires > Date.now() });
    }
    if (request.method === "POST" && url.pathname === "/revoke") return revoke(request, url);
    if (request.method === "GET" && url.pathname === "/revocations") {
      const tag = url.searchParams.get("tag") ?? "";
      return Response.json(revocations.filter((r) => r.tag === tag).map(({ tag: _, ...rest }) => rest));
    }
    if (request.method === "GET" && url.pathname === "/requests") {
      const tag = url.searchParams.get("tag") ?? "";
      return Response.json(requests.filter((r) => r.tag === tag).map(({ tag: _, ...rest }) => rest));
    }
    return new Response("not found", { status: 404 });
  },
};
