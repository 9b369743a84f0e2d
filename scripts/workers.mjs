// The Workers of this repository and how their configs combine. Used by the
// env-type generator, `npm start` and the benchmark, so there is one list.
//
// `typesWith` names the Workers whose configs `wrangler types` may see when
// typing this one. It is deliberately only the Durable Object's and the
// demo's: a typed binding to another Worker makes that Worker's code part of
// this one's type check, so the token and authn Workers are plain Fetchers
// to the gateway and each Worker type-checks on its own.
import { gatewayAssertionJwks } from "../shared/gateway-assertion/signing-key.ts";

export const WORKERS = {
  gateway: { config: "wrangler.toml", envInterface: "GatewayEnv", typesWith: ["orgState", "demo"] },
  token: { config: "workers/token/wrangler.toml", envInterface: "TokenEnv", typesWith: ["orgState"] },
  authn: { config: "workers/authn/wrangler.toml", envInterface: "AuthnEnv", typesWith: ["orgState"] },
  demo: { config: "workers/demo/wrangler.toml", envInterface: "DemoEnv", typesWith: [] },
  orgState: { config: "workers/org-state/wrangler.toml", envInterface: "OrgStateEnv", typesWith: [], dir: "org-state" },
};

/** The gateway first: it is the one origin; the rest are reached by binding. */
export const SYSTEM_CONFIGS = ["gateway", "token", "authn", "demo", "orgState"].map((n) => WORKERS[n].config);

/**
 * The vars that follow the public origin, per Worker: the one issuer and the
 * audiences derived from it. `npm start`, the system tests and the bench all
 * set them from here, so a new origin-dependent var is added in one place.
 */
export function originVars(origin) {
  const api = `${origin}/api`;
  return {
    gateway: { ISSUER: origin, API_AUDIENCE: api },
    // The first audience is the default one (an invite that names none gets it).
    token: { ISSUER: origin, ALLOWED_AUDIENCES: `${api} ${origin}/mcp/demo ${origin}/ssf` },
    authn: { ISSUER: origin, API_AUDIENCE: api },
    // The demo service checks the gateway assertion's issuer and audience.
    demo: { ISSUER: origin, API_AUDIENCE: api },
    orgState: {},
  };
}

/** Which secrets each Worker needs (set with `wrangler secret put`; generated locally). */
export const SECRETS = {
  gateway: ["GATEWAY_ASSERTION_KEY"],
  token: ["KEY_ENCRYPTION_SECRET", "VAULT_KEY"],
  authn: ["BETTER_AUTH_SECRET"],
  demo: ["GATEWAY_ASSERTION_JWKS"],
  orgState: [],
};

/**
 * Secrets that are not random but computed from the others: the demo service
 * pins the gateway's public assertion keys, derived from GATEWAY_ASSERTION_KEY
 * as the gateway derives them (shared/gateway-assertion/signing-key.ts). Not
 * secret at all, but set like one, so a deployment sets it with
 * `wrangler secret put` from ENDPOINT.gatewayJwks.
 */
export const DERIVED_SECRETS = ["GATEWAY_ASSERTION_JWKS"];

export async function derivedSecrets(secrets) {
  return { GATEWAY_ASSERTION_JWKS: JSON.stringify(await gatewayAssertionJwks(secrets.GATEWAY_ASSERTION_KEY)) };
}
