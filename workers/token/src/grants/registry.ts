import { clientCredentialsGrant } from "./client-credentials.ts";
import { jwtBearerGrant } from "./jwt-bearer.ts";
import { tokenExchangeGrant } from "./token-exchange.ts";
import type { GrantHandler } from "./types.ts";

/** Every grant type the token endpoint knows, each in its own module. */
const GRANTS: readonly GrantHandler[] = [clientCredentialsGrant, tokenExchangeGrant, jwtBearerGrant];

const BY_GRANT_TYPE: ReadonlyMap<string, GrantHandler> = new Map(GRANTS.map((g) => [g.grantType, g]));

/** The handler for a `grant_type`, or undefined (RFC 6749 §5.2 `unsupported_grant_type`). */
export function grantHandler(grantType: string): GrantHandler | undefined {
  return BY_GRANT_TYPE.get(grantType);
}

/** RFC 8414 §2 `grant_types_supported`: only grants a client can complete today. */
export const ADVERTISED_GRANT_TYPES: readonly string[] = GRANTS.filter((g) => g.advertised).map((g) => g.grantType);
