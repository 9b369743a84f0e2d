import { z } from "zod";
import { SSF_DELIVERY, SSF_STREAM_STATUSES } from "../../../../shared/contracts/ssf.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { StreamOperations } from "../ssf/stream-operations.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";

const delivery = z.object({
  method: z.enum([SSF_DELIVERY.push, SSF_DELIVERY.poll]),
  endpoint_url: z.string().max(2048).optional(),
  authorization_header: z.string().max(4096).optional().describe("sent with each push; never answered back"),
});
const configuration = z
  .object({
    stream_id: z.string(),
    iss: z.string(),
    aud: z.union([z.string(), z.array(z.string())]),
    events_supported: z.array(z.string()),
    events_requested: z.array(z.string()),
    events_delivered: z.array(z.string()),
    delivery: z.object({ method: z.string(), endpoint_url: z.string() }),
    description: z.string().optional(),
  })
  .describe("SSF 1.0 §8.1.1 stream configuration");
const status = z.object({
  stream_id: z.string(),
  status: z.enum(SSF_STREAM_STATUSES as [string, ...string[]]),
  reason: z.string().optional(),
});

/**
 * An org's Shared Signals streams for platform operators and the org's
 * admins (the `mono-auth ssf stream` commands): the same operations the
 * receivers' own endpoints offer (ssf/stream-operations.ts), with the org
 * named in the path. An operator names the SETs' `aud` (the receiver); a
 * status it sets is announced on the stream (stream-updated).
 */
export function ssfStreamRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    "/orgs/:org/ssf/streams",
    {
      summary: "Create a Shared Signals stream for the org (SSF 1.0 §8.1.1.1)",
      body: z.object({
        aud: z.union([z.string(), z.array(z.string())]),
        delivery: delivery.optional(),
        events_requested: z.array(z.string()).optional(),
        description: z.string().max(256).optional(),
      }),
      response: configuration,
      status: 201,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const body = await readJsonObject(c);
      if (body.aud === undefined) throw new HttpError("invalid_body", "aud: required (the receiver's identifier)");
      const created = await new StreamOperations(c.env, orgId).create(body, c.get("operator").clientId);
      auditDetail(c, { action: "ssf.stream.create", stream_id: created.stream_id });
      return c.json(created, 201);
    },
  );

  route(
    admin,
    "get",
    "/orgs/:org/ssf/streams",
    { summary: "The org's Shared Signals streams", response: z.array(configuration), orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "ssf.stream.list" });
      return c.json(await new StreamOperations(c.env, orgId).read(undefined));
    },
  );

  route(
    admin,
    "get",
    "/orgs/:org/ssf/streams/:id",
    { summary: "One Shared Signals stream", response: configuration, orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "ssf.stream.read", stream_id: c.req.param("id") });
      return c.json(await new StreamOperations(c.env, orgId).read(c.req.param("id")));
    },
  );

  route(
    admin,
    "delete",
    "/orgs/:org/ssf/streams/:id",
    { summary: "Delete a Shared Signals stream (what waits for it is dropped)", orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "ssf.stream.delete", stream_id: c.req.param("id") });
      await new StreamOperations(c.env, orgId).remove(c.req.param("id"));
      return c.json({ stream_id: c.req.param("id"), deleted: true });
    },
  );

  route(
    admin,
    "get",
    "/orgs/:org/ssf/streams/:id/status",
    {
      summary: "A stream's status, and what waits for it",
      response: status.extend({ waiting: z.number().int(), max_attempts: z.number().int() }),
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "ssf.stream.status", stream_id: c.req.param("id") });
      const ops = new StreamOperations(c.env, orgId);
      const current = await ops.status(c.req.param("id"));
      const delivery = await ops.deliveryStats(current.stream_id);
      return c.json({ ...current, waiting: delivery.waiting, max_attempts: delivery.maxAttempts });
    },
  );

  route(
    admin,
    "post",
    "/orgs/:org/ssf/streams/:id/status",
    {
      summary: "Enable, pause or disable a stream (SSF 1.0 §8.1.2.2; announced with stream-updated)",
      body: z.object({ status: z.enum(SSF_STREAM_STATUSES as [string, ...string[]]), reason: z.string().optional() }),
      response: status,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const body = await readJsonObject(c);
      for (const key of Object.keys(body)) {
        if (key !== "status" && key !== "reason") throw new HttpError("invalid_body", `${key}: not a status member`);
      }
      auditDetail(c, { action: "ssf.stream.set_status", stream_id: c.req.param("id") });
      return c.json(
        await new StreamOperations(c.env, orgId).setStatus({ ...body, stream_id: c.req.param("id") }, true),
      );
    },
  );
}
