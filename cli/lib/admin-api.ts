import { ENDPOINT, adminAudience } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { CliError, refusalFrom } from "./errors.ts";
import { send } from "./http.ts";
import type { CommonOptions } from "./options.ts";
import { operatorFor } from "./profile.ts";

/**
 * The admin API (ENDPOINT.admin) as the CLI calls it: an access token by
 * client credentials (RFC 6749 §4.4) as the platform operator client from
 * the profile, `scope=admin`, `resource` = the admin audience (RFC 8707),
 * then JSON requests with it as a bearer token (RFC 6750 §2.1).
 */
export class AdminApi {
  readonly #issuer: string;
  readonly #profile: string;
  #token: Promise<string> | undefined;

  constructor(options: Pick<CommonOptions, "url" | "profile">) {
    this.#issuer = options.url;
    this.#profile = options.profile;
  }

  async request<T>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
    const token = await (this.#token ??= this.#fetchToken());
    const response = await send(`${this.#issuer}${ENDPOINT.admin}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
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
    const token = await (this.#token ??= this.#fetchToken());
    const response = await send(`${this.#issuer}${ENDPOINT.admin}${path}`, {
      headers: { Authorization: `Bearer ${token}`, ...headers },
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) throw await refusalFrom(response, `GET ${ENDPOINT.admin}${path}`);
    return response;
  }

  async #fetchToken(): Promise<string> {
    const credentials = operatorFor(this.#profile, this.#issuer);
    // RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
    const basic = btoa(`${encodeURIComponent(credentials.client_id)}:${encodeURIComponent(credentials.client_secret)}`);
    const response = await send(`${this.#issuer}${ENDPOINT.token}`, {
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
    });
    if (!response.ok) throw await refusalFrom(response, "the operator's token request");
    const body = (await response.json()) as { access_token?: unknown };
    if (typeof body.access_token !== "string")
      throw new CliError("the token endpoint answered without an access_token");
    return body.access_token;
  }
}
