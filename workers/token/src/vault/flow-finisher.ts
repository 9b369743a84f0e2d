import { and, eq, or, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ORG_ADMIN_ROLES } from "../../../../shared/contracts/console-admin.ts";
import { member, platformOperator } from "../../../../shared/db/schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import type { OwnerKind } from "./connections.ts";

/** What a flow row says about whose connection it makes (vault_connect_state). */
export interface FlowTarget {
  orgId: string;
  ownerKind: OwnerKind;
  ownerId: string;
}

/**
 * The person finishing a flow at the callback must still be someone who may
 * start it: a flow can take up to VAULT_CONNECT_STATE_TTL_SECONDS at the
 * provider, and an admin demoted or removed meanwhile (or a platform operator
 * no longer one) must not save an account into the org after the fact, as
 * the admin API stops them "from that moment" (admin/console-session.ts).
 * A person's own connection needs them still a member of the flow's org;
 * anything else (the org's connection, one an admin makes for a member)
 * an admin or owner of that org, or a platform operator. 403 `forbidden`
 * otherwise; the flow's state is already spent, so nothing can retry it.
 */
export async function requireFlowFinisher(db: D1Database, flow: FlowTarget, userId: string): Promise<void> {
  const orm = drizzle(db);
  const [operatorRows, memberRows] = await orm.batch([
    orm.select({ userId: platformOperator.userId }).from(platformOperator).where(eq(platformOperator.userId, userId)),
    orm
      .select({ role: member.role })
      .from(member)
      .where(and(eq(member.userId, userId), eq(member.organizationId, flow.orgId))),
  ]);
  const ownConnection = flow.ownerKind === "user" && flow.ownerId === userId;
  const isAdmin = memberRows.some((m) => m.role.split(",").some((r) => ORG_ADMIN_ROLES.includes(r.trim())));
  if (ownConnection ? memberRows.length > 0 : isAdmin || operatorRows.length > 0) return;
  throw new HttpError(
    "forbidden",
    ownConnection
      ? "you are no longer a member of the organization this flow connects into"
      : "you no longer administer the organization this flow connects into",
  );
}

/**
 * The same rule as one SQL condition, for a write that must hold only while
 * it does (the connect link's spend, vault/connect-link.ts): a role taken
 * away between a check and the write then makes the write miss instead of
 * landing. Roles are Better Auth's comma-separated list, as above.
 */
export function flowFinisherCondition(flow: FlowTarget, userId: string): SQL {
  const isMember = and(eq(member.userId, userId), eq(member.organizationId, flow.orgId));
  if (flow.ownerKind === "user" && flow.ownerId === userId) {
    return sql`exists (select 1 from ${member} where ${isMember})`;
  }
  const listed = sql`',' || replace(${member.role}, ' ', '') || ','`;
  const adminRole = or(...ORG_ADMIN_ROLES.map((role) => sql`instr(${listed}, ${`,${role},`}) > 0`));
  return sql`(exists (select 1 from ${member} where ${and(isMember, adminRole)})
    or exists (select 1 from ${platformOperator} where ${eq(platformOperator.userId, userId)}))`;
}
