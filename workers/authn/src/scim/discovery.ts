/**
 * RFC 7644 §4 discovery: what this server supports (ServiceProviderConfig,
 * RFC 7643 §5), which resources it serves (ResourceTypes, §6) and their
 * attributes (Schemas, §7, scim/schemas.ts), so a
 * directory configures itself instead of guessing. Answered to an
 * authenticated directory only, like every other SCIM path here.
 */
import type { Hono } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { ScimError } from "../../../../shared/errors/scim.ts";
import { authnConfig } from "../config.ts";
import type { ScimApp } from "./authenticate.ts";
import { scimJson } from "./http.ts";
import { MAX_RESULTS } from "./query.ts";
import { listResponse, SCIM_SCHEMA } from "./resources.ts";
import { schemaResources } from "./schemas.ts";

export function discoveryRoutes(app: Hono<ScimApp>): void {
  app.get("/ServiceProviderConfig", (c) =>
    scimJson({
      schemas: [SCIM_SCHEMA.serviceProviderConfig],
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      // eq, ne, co, sw, ew, pr with and, or, not on the attributes each store offers (scim/filter.ts; a Group's members: eq, pr).
      filter: { supported: true, maxResults: MAX_RESULTS },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: false },
      authenticationSchemes: [
        {
          type: "oauthbearertoken",
          name: "OAuth Bearer Token",
          description: "The organization's SCIM token (mono-auth scim token create --org ORG)",
          specUri: "https://www.rfc-editor.org/rfc/rfc6750",
          primary: true,
        },
      ],
      meta: { resourceType: "ServiceProviderConfig" },
    }),
  );

  app.get("/ResourceTypes", (c) => {
    const types = resourceTypes(authnConfig(c.env).issuer);
    return scimJson(listResponse(types, types.length, 1));
  });

  // Each ResourceType's meta.location names this path (RFC 7643 §3.1, §6): it must resolve, not 404.
  app.get("/ResourceTypes/:id", (c) => {
    const type = resourceTypes(authnConfig(c.env).issuer).find((t) => t.id === c.req.param("id"));
    if (!type) throw new ScimError("not_found", "no such SCIM endpoint");
    return scimJson(type);
  });

  app.get("/Schemas", (c) => {
    const schemas = schemaResources(`${authnConfig(c.env).issuer}${ENDPOINT.scim}/Schemas`);
    return scimJson(listResponse(schemas, schemas.length, 1));
  });

  app.get("/Schemas/:id", (c) => {
    // A schema's id is its URN, which RFC 7644 §3.10 reads in any case (resources.ts namesSchema).
    const id = c.req.param("id").toLowerCase();
    const schema = schemaResources(`${authnConfig(c.env).issuer}${ENDPOINT.scim}/Schemas`).find(
      (s) => s.id.toLowerCase() === id,
    );
    if (!schema) throw new ScimError("not_found", "no such Schema");
    return scimJson(schema);
  });
}

function resourceTypes(issuer: string) {
  const base = `${issuer}${ENDPOINT.scim}/ResourceTypes`;
  return [
    { id: "User", name: "User", endpoint: "/Users", schema: SCIM_SCHEMA.user },
    { id: "Group", name: "Group", endpoint: "/Groups", schema: SCIM_SCHEMA.group },
  ].map((t) => ({
    schemas: [SCIM_SCHEMA.resourceType],
    ...t,
    meta: { resourceType: "ResourceType", location: `${base}/${t.id}` },
  }));
}
