// Machine clients for the bench, set up as an operator would: the first
// platform operator written to the local D1 through wrangler (the SQL of
// `mono-auth operator bootstrap`, cli/operator/bootstrap-sql.ts), then
// everything else through the admin API with that operator's token. No
// backdoor in any Worker.
import { operatorBootstrapStatements } from "../../cli/operator/bootstrap-sql.ts";
import { adminAudience, ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { generateClientId } from "../../shared/crypto/client-id.ts";
import { generateClientSecret, hashSecret } from "../../shared/crypto/secret-hash.ts";
import { wranglerSync } from "./dev-server.ts";

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** RFC 6749 §2.3.1: each part form-urlencoded, then Basic. */
export function basicAuthorization(client: ClientCredentials): string {
  const encode = (v: string) => encodeURIComponent(v).replaceAll("%20", "+");
  return `Basic ${Buffer.from(`${encode(client.clientId)}:${encode(client.clientSecret)}`).toString("base64")}`;
}

/** The headers and body of one token request with client_secret_basic. */
export function tokenRequest(
  client: ClientCredentials,
  params: Record<string, string>,
): { headers: Record<string, string>; body: string } {
  return {
    headers: {
      Authorization: basicAuthorization(client),
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "application/json",
    },
    body: new URLSearchParams(params).toString(),
  };
}

/** POSTs a token request; the access token, or an error naming the answer. */
export async function requestToken(
  tokenEndpoint: string,
  client: ClientCredentials,
  params: Record<string, string>,
): Promise<string> {
  const { headers, body } = tokenRequest(client, params);
  const response = await fetch(tokenEndpoint, { method: "POST", headers, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`token request: HTTP ${response.status} ${text.slice(0, 300)}`);
  const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
  if (typeof token !== "string") throw new Error(`token request: no access_token in ${text.slice(0, 300)}`);
  return token;
}

/** A JWT's payload, unverified: the bench only checks what it measured is what it meant to measure. */
export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split(".")[1];
  if (!part) throw new Error("not a JWT");
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

/**
 * Writes a platform operator and its admin client to the local D1 at
 * `persistTo` with `wrangler d1 execute --local`, as `mono-auth operator
 * bootstrap` does, and returns the client's credentials.
 */
export async function bootstrapOperator(options: {
  cwd: string;
  persistTo: string;
  /** A wrangler config that binds the main database as DB. */
  config: string;
  issuer: string;
}): Promise<ClientCredentials> {
  const clientId = generateClientId();
  const clientSecret = generateClientSecret();
  const statements = operatorBootstrapStatements({
    email: `bench-operator-${crypto.randomUUID().slice(0, 8)}@example.com`,
    userId: crypto.randomUUID().replaceAll("-", ""),
    clientId,
    secretHash: await hashSecret(clientSecret),
    audience: adminAudience(options.issuer),
    now: Date.now(),
  });
  wranglerSync(options.cwd, [
    "d1",
    "execute",
    "DB",
    "--local",
    "--persist-to",
    options.persistTo,
    "-c",
    options.config,
    "--command",
    statements.join("; "),
  ]);
  return { clientId, clientSecret };
}

/** An admin API call failed: its status and (bounded) body, for the bench's error message. */
export class AdminCallError extends Error {
  readonly status: number;
  constructor(what: string, status: number, body: string) {
    super(`admin API ${what}: HTTP ${status} ${body.slice(0, 300)}`);
    this.status = status;
  }
}

/** The admin API (ENDPOINT.admin) as a platform operator calls it. */
export class AdminApi {
  private readonly base: string;
  private readonly token: string;

  private constructor(origin: string, token: string) {
    this.base = `${origin}${ENDPOINT.admin}`;
    this.token = token;
  }

  /** Gets an admin token by client credentials (scope `admin`, the admin audience), as the CLI does. */
  static async signIn(origin: string, operator: ClientCredentials): Promise<AdminApi> {
    const token = await requestToken(`${origin}${ENDPOINT.token}`, operator, {
      grant_type: GRANT_TYPE.clientCredentials,
      scope: SCOPE.admin,
      resource: adminAudience(origin),
    });
    return new AdminApi(origin, token);
  }

  private async call(method: "POST" | "PUT", path: string, body: unknown): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new AdminCallError(`${method} ${path}`, response.status, text);
    return JSON.parse(text) as Record<string, unknown>;
  }

  /** POST /orgs/{org}/clients with client_secret_basic; the new client's credentials. */
  async createClient(
    orgId: string,
    client: { name: string; type: "machine" | "agent"; grantTypes: string[]; scope: string; audiences: string[] },
  ): Promise<ClientCredentials> {
    const created = await this.call("POST", `/orgs/${encodeURIComponent(orgId)}/clients`, {
      client_name: client.name,
      client_type: client.type,
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: client.grantTypes,
      scope: client.scope,
      audiences: client.audiences,
    });
    if (typeof created.client_id !== "string" || typeof created.client_secret !== "string") {
      throw new Error("admin API: the new client came without client_id or client_secret");
    }
    return { clientId: created.client_id, clientSecret: created.client_secret };
  }

  /** PUT /orgs/{org}/token-policy (the whole policy; fields left out take their defaults). */
  async putTokenPolicy(orgId: string, policy: Record<string, unknown>): Promise<void> {
    await this.call("PUT", `/orgs/${encodeURIComponent(orgId)}/token-policy`, policy);
  }

  /** POST /orgs/{org}/delegation-grants: `actor` may act for `subject`. */
  async createDelegationGrant(
    orgId: string,
    grant: { subject: string; actorClientId: string; scopes: string[]; audiences: string[] },
  ): Promise<void> {
    await this.call("POST", `/orgs/${encodeURIComponent(orgId)}/delegation-grants`, {
      subject: grant.subject,
      actor_client_id: grant.actorClientId,
      scopes: grant.scopes,
      audiences: grant.audiences,
    });
  }
}
