import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "../../../../shared/db/schema.ts";
import { recordRevocation } from "../../../../shared/revocation/record-revocation.ts";
import { baseAuthOptions } from "./options.ts";

export type AuthBindings = Pick<AuthnEnv, "DB" | "ORG_STATE" | "AUDIT_QUEUE" | "BETTER_AUTH_SECRET"> & {
  ISSUER: string;
};

function createAuth(env: AuthBindings) {
  if (!env.BETTER_AUTH_SECRET || env.BETTER_AUTH_SECRET.length < 32) {
    throw new Error("BETTER_AUTH_SECRET must be set to at least 32 characters");
  }
  return betterAuth({
    ...baseAuthOptions(env.ISSUER),
    secret: env.BETTER_AUTH_SECRET,
    database: drizzleAdapter(drizzle(env.DB, { schema }), { provider: "sqlite", schema }),
    databaseHooks: {
      session: {
        create: {
          // A new session starts in the person's first organization, so a
          // returning user's first token names a tenant without an extra
          // "choose organization" step (Better Auth's documented pattern).
          before: async (session) => {
            const first = await drizzle(env.DB, { schema })
              .select({ orgId: schema.member.organizationId })
              .from(schema.member)
              .where(eq(schema.member.userId, session.userId))
              .orderBy(asc(schema.member.createdAt))
              .get();
            return first ? { data: { ...session, activeOrganizationId: first.orgId } } : undefined;
          },
        },
        delete: {
          // Sign-out ends the session's access tokens at the gateway too:
          // every token minted from it carries `sid`. The revocation is in
          // the org's Durable Object before the sign-out response leaves.
          after: async (session) => {
            const orgId = (session as { activeOrganizationId?: string | null }).activeOrganizationId;
            if (!orgId) return;
            await recordRevocation(env, { orgId, kind: "session", value: session.id, reason: "sign-out" });
          },
        },
      },
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;

/** One Better Auth instance per env object (per isolate): building it is not free. */
const instances = new WeakMap<AuthBindings, Auth>();

export function getAuth(env: AuthBindings): Auth {
  let auth = instances.get(env);
  if (!auth) {
    auth = createAuth(env);
    instances.set(env, auth);
  }
  return auth;
}
