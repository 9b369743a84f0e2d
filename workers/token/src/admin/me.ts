import { z } from "zod";
import { auditDetail } from "./audit.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";

/**
 * GET /me → who the caller is to the admin API and what it reaches: the
 * console uses it to show a platform operator the platform's pages and an
 * org admin its orgs only.
 */
export function meRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    "/me",
    {
      summary: "The caller and the organizations it may act on",
      response: z.object({
        subject: z.string(),
        client_id: z.string(),
        platform_operator: z.boolean(),
        org_ids: z.array(z.string()).nullable().describe("null for a platform operator: every org"),
      }),
      orgAdmins: "self",
    },
    (c) => {
      const operator = c.get("operator");
      auditDetail(c, { action: "me.read" });
      return c.json({
        subject: operator.subject,
        client_id: operator.clientId,
        platform_operator: operator.reach.platform,
        org_ids: operator.reach.platform ? null : [...operator.reach.orgIds].sort(),
      });
    },
  );
}
