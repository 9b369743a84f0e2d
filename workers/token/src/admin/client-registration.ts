import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { orgClientRegistration } from "../../../../shared/db/client-registration-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { tokenConfig } from "../config.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";
import { onlyFields, optionalBoolean } from "./validate.ts";

const view = z.object({
  org_id: z.string(),
  dynamic_client_registration: z.boolean(),
  registration_endpoint: z.string().describe("RFC 7591 §3: where the org's MCP clients register while it is on"),
  updated_at: z.string().nullable(),
});
const put = z.object({ dynamic_client_registration: z.boolean() });

async function settingView(db: D1Database, issuer: string, orgId: string) {
  const row = await drizzle(db)
    .select()
    .from(orgClientRegistration)
    .where(eq(orgClientRegistration.orgId, orgId))
    .get();
  return {
    org_id: orgId,
    dynamic_client_registration: row?.dynamicRegistration ?? false,
    registration_endpoint: `${issuer}${ENDPOINT.clientRegistration}/${encodeURIComponent(orgId)}`,
    updated_at: row?.updatedAt.toISOString() ?? null,
  };
}

/**
 * An org's switch for RFC 7591 Dynamic Client Registration
 * (oidc/client-registration.ts), off until its admins turn it on:
 *
 * - GET /orgs/{org}/client-registration → `{ org_id, dynamic_client_registration, registration_endpoint, updated_at }`
 * - PUT /orgs/{org}/client-registration `{ dynamic_client_registration: true|false }` → the same
 *
 * Turning it off stops new registrations at once (the endpoint reads D1 on
 * every request); clients already registered stay until deleted.
 */
export function clientRegistrationRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    "/orgs/:org/client-registration",
    {
      summary: "Read whether MCP clients may register themselves (RFC 7591) in the org",
      response: view,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "client_registration.read" });
      return c.json(await settingView(c.env.DB, tokenConfig(c.env).issuer, orgId));
    },
  );

  route(
    admin,
    "put",
    "/orgs/:org/client-registration",
    {
      summary: "Turn RFC 7591 dynamic client registration on or off for the org",
      body: put,
      response: view,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const body = await readJsonObject(c);
      onlyFields(body, ["dynamic_client_registration"]);
      const on = optionalBoolean(body, "dynamic_client_registration");
      if (on === undefined) throw new HttpError("invalid_body", "dynamic_client_registration: required, true or false");
      const values = { orgId, dynamicRegistration: on, updatedBy: c.var.operator.subject, updatedAt: new Date() };
      const { orgId: _key, ...update } = values;
      await drizzle(c.env.DB)
        .insert(orgClientRegistration)
        .values(values)
        .onConflictDoUpdate({ target: orgClientRegistration.orgId, set: update })
        .run();
      auditDetail(c, { action: "client_registration.update", dynamic_client_registration: on });
      return c.json(await settingView(c.env.DB, tokenConfig(c.env).issuer, orgId));
    },
  );
}
