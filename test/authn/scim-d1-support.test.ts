// Why SCIM provisioning is our own module (workers/authn/src/scim, app.ts
// has the design) and not @better-auth/scim: the plugin (1.7.5) requires a
// database adapter with native (interactive) transactions and refuses to
// start without one (its init, `assertNativeSCIMTransactions`); inside them
// it reads its own writes and branches on conditional writes, which D1's
// atomic but all-up-front `batch()` cannot serve. D1 runs no BEGIN/COMMIT:
// Drizzle's transaction on D1 fails on its first statement. This test pins
// both facts: when either changes it fails, and the plugin can be weighed
// again against the module (test/authn/scim-users.test.ts, scim-groups.test.ts).
import { env } from "cloudflare:workers";
import { scim } from "@better-auth/scim";
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import * as schema from "../../shared/db/schema.ts";

describe("@better-auth/scim on D1", () => {
  it("D1 runs no interactive transaction", async () => {
    await expect(
      drizzle(env.DB).transaction(async (tx) => {
        await tx.run(sql`SELECT 1`);
      }),
    ).rejects.toThrow("Failed query: begin");
  });

  it("the SCIM plugin refuses the D1 adapter at start", async () => {
    const auth = betterAuth({
      baseURL: env.ISSUER,
      basePath: "/api/auth",
      secret: env.BETTER_AUTH_SECRET,
      database: drizzleAdapter(drizzle(env.DB, { schema }), { provider: "sqlite", schema }),
      plugins: [
        scim({ connections: [{ id: "tripwire", credentials: [{ type: "bearer", id: "c", token: "t".repeat(32) }] }] }),
      ],
    });
    await expect(auth.$context).rejects.toThrow(
      "The scim plugin requires a database adapter with native transaction support.",
    );
  });
});
