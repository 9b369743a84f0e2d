import type { Context } from "hono";
import { SCIM_CONTENT_TYPE, ScimError } from "../../../../shared/errors/scim.ts";

/** RFC 7644 §3.1: SCIM answers are `application/scim+json`; nothing about a person is cached. */
export function scimJson(body: unknown, status: 200 | 201 = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": SCIM_CONTENT_TYPE, "Cache-Control": "no-store", ...headers },
  });
}

/**
 * The request's JSON body (already read under the byte cap, http/capped-body.ts).
 * RFC 7644 §3.1 names `application/scim+json`; plain `application/json` is
 * accepted too, as directories send either. Anything else, or JSON that does
 * not parse, is a 400 `invalidSyntax`.
 */
export async function scimBody(c: Context): Promise<unknown> {
  const type = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== SCIM_CONTENT_TYPE && type !== "application/json") {
    throw new ScimError("invalidSyntax", `the body must be ${SCIM_CONTENT_TYPE}`);
  }
  try {
    return await c.req.json();
  } catch {
    throw new ScimError("invalidSyntax", "the body is not JSON");
  }
}
