import { normaliseIssuer } from "../../../shared/config/issuer.ts";
import { absoluteUrlVar } from "../../../shared/config/vars.ts";
import { ENDPOINT } from "../../../shared/contracts/endpoints.ts";
import { GatewayAssertionVerifier } from "../../../shared/gateway-assertion/verify-gateway-assertion.ts";

/** The demo service's settings, parsed once per isolate. */
export interface DemoConfig {
  /** The gateway's audience for the REST routes (documents, echo). */
  apiAudience: string;
  /** The MCP route's audience: its resource identifier. */
  mcpAudience: string;
  /** Normalised; an MCP server registered with the DEMO binding is `<issuer>/mcp/<name>` (shared/contracts/mcp.ts). */
  issuer: string;
  assertions: GatewayAssertionVerifier;
}

/** The vars and secret as strings (the demo is also type-checked inside the gateway's project, without its generated Env). */
export type DemoVars = Record<"ISSUER" | "API_AUDIENCE" | "GATEWAY_ASSERTION_JWKS", string>;

export function parseDemoConfig(vars: DemoVars): DemoConfig {
  const issuer = normaliseIssuer(vars.ISSUER);
  let jwks: unknown;
  try {
    jwks = JSON.parse(vars.GATEWAY_ASSERTION_JWKS);
  } catch {
    throw new Error("GATEWAY_ASSERTION_JWKS must be a JWKS (JSON)");
  }
  if (typeof jwks !== "object" || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
    throw new Error("GATEWAY_ASSERTION_JWKS must be a JWKS with a keys array");
  }
  return {
    apiAudience: absoluteUrlVar("API_AUDIENCE", vars.API_AUDIENCE),
    mcpAudience: `${issuer}${ENDPOINT.mcpDemo}`,
    issuer,
    assertions: new GatewayAssertionVerifier({ issuer, jwks: jwks as { keys: [] } }),
  };
}
