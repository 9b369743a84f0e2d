import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { trustedIssuer } from "../../../../shared/db/machine-schema.ts";

export interface TrustedIssuer {
  /** The trust's own id (`trusted_issuer.id`): what a token redeemed under it rests on (trustedIssuerGrantId). */
  id: string;
  issuer: string;
  jwksUri: string;
}

/**
 * The external identity provider an org trusts to issue ID-JAGs to us
 * (`trusted_issuer`, managed through the admin API), or undefined. Read
 * from D1 on every redemption: an issuer an org stopped trusting a moment
 * ago must not mint again, nor one whose removal has begun (`removing_since`).
 */
export async function findTrustedIssuer(
  db: D1Database,
  orgId: string,
  issuer: string,
): Promise<TrustedIssuer | undefined> {
  return drizzle(db)
    .select({ id: trustedIssuer.id, issuer: trustedIssuer.issuer, jwksUri: trustedIssuer.jwksUri })
    .from(trustedIssuer)
    .where(and(eq(trustedIssuer.orgId, orgId), eq(trustedIssuer.issuer, issuer), isNull(trustedIssuer.removingSince)))
    .get();
}
