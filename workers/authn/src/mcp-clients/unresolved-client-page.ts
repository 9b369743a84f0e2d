import type { MiddlewareHandler } from "hono";
import { toErrorPage } from "../oidc/authorize-refusal.ts";
import { CIMD_ERROR } from "./errors.ts";

const CIMD_CODES: readonly string[] = Object.values(CIMD_ERROR);

/**
 * The authorization endpoint's answer when a client_id's metadata document
 * was refused (client-discovery.ts). Better Auth answers that refusal as a
 * bare JSON 400, a dead end in the person's browser; RFC 6749 §4.1.2.1 asks
 * that the resource owner be told, and never redirected to a client whose
 * identifier is invalid. So it becomes the error page, as Better Auth's own
 * refusal of an unknown client_id does (`invalid_client`, the stable code as
 * its description).
 */
export const unresolvedClientPage: MiddlewareHandler<{ Bindings: AuthnEnv }> = async (c, next) => {
  await next();
  if (c.res.status !== 400) return;
  const body = (await c.res
    .clone()
    .json()
    .catch(() => undefined)) as { error?: unknown; error_description?: unknown } | undefined;
  const description = typeof body?.error_description === "string" ? body.error_description : "";
  if (body?.error !== "invalid_client" || !CIMD_CODES.some((code) => description.startsWith(`${code}:`))) return;
  c.res = undefined;
  c.res = toErrorPage(c, "invalid_client", description);
};
