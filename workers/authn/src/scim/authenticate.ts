import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { MiddlewareHandler } from "hono";
import { scimTokenId } from "../../../../shared/crypto/scim-token.ts";
import { verifySecret } from "../../../../shared/crypto/secret-hash.ts";
import { scimToken } from "../../../../shared/db/schema.ts";
import { ScimError } from "../../../../shared/errors/scim.ts";

/** Who a SCIM request came from: one org's directory, through one of its tokens. */
export interface ScimCaller {
  orgId: string;
  tokenId: string;
}

export type ScimApp = { Bindings: AuthnEnv; Variables: { scim: ScimCaller } };

/** RFC 6750 §2.1: `Bearer` (any case), one or more spaces, the token. */
const BEARER = /^bearer +(\S+)$/i;

/**
 * RFC 7644 §2: the org's directory authenticates with a bearer token the
 * org's owners or admins (or a platform operator) created
 * (shared/crypto/scim-token.ts). The token names its org and nothing else:
 * every query below scopes by `c.var.scim.orgId`, so a token reaches no other
 * org's people or groups and no platform operator (GHSA-j8v8-g9cx-5qf4).
 * Unknown, malformed, expired and deleted tokens are one 401.
 */
export const authenticateScim: MiddlewareHandler<ScimApp> = async (c, next) => {
  const token = BEARER.exec(c.req.header("Authorization") ?? "")?.[1];
  const id = token === undefined ? undefined : scimTokenId(token);
  if (token === undefined || id === undefined) throw new ScimError("unauthorized", "a SCIM bearer token is required");
  const row = await drizzle(c.env.DB)
    .select({ orgId: scimToken.orgId, tokenHash: scimToken.tokenHash, expiresAt: scimToken.expiresAt })
    .from(scimToken)
    .where(eq(scimToken.id, id))
    .get();
  const valid = (await verifySecret(token, row?.tokenHash)) && (!row?.expiresAt || row.expiresAt > new Date());
  if (!row || !valid) throw new ScimError("unauthorized", "the SCIM bearer token is not valid");
  c.set("scim", { orgId: row.orgId, tokenId: id });
  await next();
};
