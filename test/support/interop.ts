// What every over-HTTP interop test sets up first, as an operator would: the
// issuer discovered by oauth4webapi (unmodified), the first platform
// operator written the way `mono-auth operator bootstrap` writes it, an admin
// token got by client credentials, and the admin API to create orgs and
// register clients with. Plus a loopback server for a JWKS a test controls.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as oauth from "oauth4webapi";
import { operatorBootstrapStatements } from "../../cli/operator/bootstrap-sql.ts";
import { adminAudience, ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { generateClientId } from "../../shared/crypto/client-id.ts";
import { generateClientSecret, hashSecret } from "../../shared/crypto/secret-hash.ts";
import type { RunningSystem } from "./system.ts";

/** oauth4webapi talks plain http only when told to: the local system has no TLS. */
export const INSECURE = { [oauth.allowInsecureRequests]: true } as const;

/** A client as the admin API answers its registration (the secret is shown once). */
export interface CreatedClient {
  client_id: string;
  client_secret?: string;
}

export interface InteropOperator {
  /** The issuer's RFC 8414 metadata, as oauth4webapi discovered it. */
  as: oauth.AuthorizationServer;
  /** The operator's admin access token (for what admin() cannot send, such as a WebSocket upgrade). */
  bearer: string;
  /** A call to the admin API (ENDPOINT.admin + path) with the operator's token; a body is sent as JSON. */
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  /** A new org, by the admin API; its id. */
  createOrg(name: string): Promise<string>;
  /**
   * Registers a client of the org by the admin API: a `machine` named
   * "interop" for `documents:read` at the API (`${origin}/api`), unless
   * `body` says otherwise.
   */
  registerClient(orgId: string, body?: Record<string, unknown>): Promise<CreatedClient>;
}

/** Discovers the issuer and bootstraps a platform operator with an admin token. */
export async function interopOperator(system: RunningSystem): Promise<InteropOperator> {
  const issuer = new URL(system.origin);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { ...INSECURE, algorithm: "oauth2" }),
  );

  const operator = { client_id: generateClientId() };
  const secret = generateClientSecret();
  for (const sql of operatorBootstrapStatements({
    email: `operator-${crypto.randomUUID()}@example.com`,
    userId: `user-${crypto.randomUUID()}`,
    clientId: operator.client_id,
    secretHash: await hashSecret(secret),
    audience: adminAudience(system.origin),
    now: Date.now(),
  })) {
    await system.execMain(sql);
  }
  const { access_token: adminBearer } = await oauth.processClientCredentialsResponse(
    as,
    operator,
    await oauth.clientCredentialsGrantRequest(
      as,
      operator,
      oauth.ClientSecretBasic(secret),
      { resource: adminAudience(system.origin) },
      INSECURE,
    ),
  );

  const admin: InteropOperator["admin"] = (method, path, body) =>
    system.fetch(`${ENDPOINT.admin}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${adminBearer}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const created = async <T>(response: Response, what: string): Promise<T> => {
    if (response.status !== 201) throw new Error(`${what}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  return {
    as,
    bearer: adminBearer,
    admin,
    createOrg: async (name) => (await created<{ id: string }>(await admin("POST", "/orgs", { name }), "create org")).id,
    registerClient: async (orgId, body = {}) =>
      created<CreatedClient>(
        await admin("POST", `/orgs/${orgId}/clients`, {
          client_name: "interop",
          client_type: "machine",
          scope: "documents:read",
          audiences: [`${system.origin}/api`],
          ...body,
        }),
        "register client",
      ),
  };
}

export interface JwksServer {
  /** Where the set is served: http://127.0.0.1:PORT (the document at `${origin}/jwks.json`). */
  origin: string;
  /** What `/jwks.json` answers from now on. */
  serve(jwks: { keys: unknown[] }): void;
  close(): Promise<void>;
}

/** A JWKS on the loopback interface (a client's jwks_uri, an external IdP's), the only http a jwks_uri may use. */
export async function startJwksServer(): Promise<JwksServer> {
  let served: { keys: unknown[] } = { keys: [] };
  const server = createServer((request, response) => {
    if (request.url !== "/jwks.json") {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(served));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    serve: (jwks) => {
      served = jwks;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
