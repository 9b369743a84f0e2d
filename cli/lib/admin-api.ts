import { ENDPOINT, adminAudience } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { ACCESS_TOKEN_TYPE, GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { type DpopRequest, DpopSession, generateDpopKey, importDpopKey, requiresDpop } from "./dpop.ts";
import { CliError, refusalFrom } from "./errors.ts";
import { send } from "./http.ts";
import type { CommonOptions } from "./options.ts";
import { type OperatorCredentials, operatorFor, saveDpopKey } from "./profile.ts";

/** The operator's access token, and the DPoP session it is bound to (none for a bearer token). */
interface OperatorToken {
  accessToken: string;
  dpop: DpopSession | undefined;
}

/**
 * The admin API (ENDPOINT.admin) as the CLI calls it: an access token by
 * client credentials (RFC 6749 §4.4) as the platform operator client from
 * the profile, `scope=admin`, `resource` = the admin audience (RFC 8707),
 * then JSON requests with it.
 *
 * DPoP (RFC 9449): a profile holding a DPoP key for the issuer asks for a
 * token bound to it (§5) and sends each call as `Authorization: DPoP` with
 * a fresh proof carrying `ath` (§7.1); a bound token is never accepted as
 * a bearer token. A profile without one asks for a bearer token (RFC 6750
 * §2.1); if the token endpoint refuses that with `invalid_dpop_proof` (the
 * client requires DPoP, §5.2 `dpop_bound_access_tokens`), the CLI makes a
 * key, keeps it in the profile and asks once more with a proof — from then
 * on that operator always uses DPoP.
 */
export class AdminApi {
  readonly #issuer: string;
  readonly #profile: string;
  #token: Promise<OperatorToken> | undefined;

  constructor(options: Pick<CommonOptions, "url" | "profile">) {
    this.#issuer = options.url;
    this.#profile = options.profile;
  }

  async request<T>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
    const response = await this.#call(path, {
      method,
      headers: {
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw await refusalFrom(response, `${method} ${ENDPOINT.admin}${path}`);
    return (await response.json()) as T;
  }

  /** A GET whose body the caller reads as it arrives (an event stream); refused answers throw like request's. */
  async open(path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    const response = await this.#call(path, { method: "GET", headers, ...(signal ? { signal } : {}) });
    if (!response.ok) throw await refusalFrom(response, `GET ${ENDPOINT.admin}${path}`);
    return response;
  }

  async #call(path: string, request: DpopRequest): Promise<Response> {
    refuseDotSegments(path);
    const token = await (this.#token ??= this.#fetchToken());
    const url = `${this.#issuer}${ENDPOINT.admin}${path}`;
    if (token.dpop) return token.dpop.send(url, request, token.accessToken);
    return send(url, {
      method: request.method,
      headers: { ...request.headers, Authorization: `Bearer ${token.accessToken}` },
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(request.signal ? { signal: request.signal } : {}),
    });
  }

  async #fetchToken(): Promise<OperatorToken> {
    const credentials = operatorFor(this.#profile, this.#issuer);
    const stored = credentials.dpop_private_jwk;
    let dpop = stored ? new DpopSession(await importDpopKey(stored)) : undefined;
    let response = await this.#tokenRequest(credentials, dpop);
    if (!dpop && (await requiresDpop(response))) {
      await response.body?.cancel();
      const { privateJwk } = await generateDpopKey();
      dpop = new DpopSession(await importDpopKey(saveDpopKey(this.#profile, this.#issuer, privateJwk)));
      response = await this.#tokenRequest(credentials, dpop);
    }
    if (!response.ok) throw await refusalFrom(response, "the operator's token request");
    const body = (await response.json()) as { access_token?: unknown; token_type?: unknown };
    if (typeof body.access_token !== "string") {
      throw new CliError("the token endpoint answered without an access_token");
    }
    // §5: the token_type says how the token must be sent (case-insensitive, RFC 6749 §5.1).
    const bound =
      typeof body.token_type === "string" && body.token_type.toLowerCase() === ACCESS_TOKEN_TYPE.dpop.toLowerCase();
    if (dpop && !bound) throw new CliError("the token endpoint answered a DPoP token request with a bearer token");
    return { accessToken: body.access_token, dpop };
  }

  #tokenRequest(credentials: OperatorCredentials, dpop: DpopSession | undefined): Promise<Response> {
    // RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
    const basic = btoa(`${encodeURIComponent(credentials.client_id)}:${encodeURIComponent(credentials.client_secret)}`);
    const request: DpopRequest = {
      method: "POST",
      headers: {
        Authorization: `Basic ${basic}`,
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: new URLSearchParams({
        grant_type: GRANT_TYPE.clientCredentials,
        scope: SCOPE.admin,
        resource: adminAudience(this.#issuer),
      }),
    };
    const url = `${this.#issuer}${ENDPOINT.token}`;
    if (dpop) return dpop.send(url, request);
    return send(url, request);
  }
}

/**
 * An id or `--org` of `.` or `..` is a dot segment, which fetch resolves away (RFC 3986 §5.2.4,
 * WHATWG URL), so the request would go to another resource than the command names:
 * `access-request deny .. --org X` as POST /orgs/X/deny, `--org ..` without the org at all.
 * encodeURIComponent keeps dots as they are (and turns `%2e` into `%252e`, no dot), so the
 * path is checked whole before anything is sent.
 */
function refuseDotSegments(path: string): void {
  const segments = (path.split(/[?#]/, 1)[0] ?? "").split("/");
  if (segments.some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment)))
    throw new CliError("an id or --org cannot be . or .. (it would address another resource)");
}
