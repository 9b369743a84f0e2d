/**
 * RFC 7644 §3.4.2.5 `attributes` and `excludedAttributes`, which a service
 * provider MUST support, on every User and Group answer (§3.9: POST, PUT and
 * PATCH answers too): `attributes` names the only attributes a returned
 * resource carries, `excludedAttributes` those it leaves out. Each is a
 * comma-separated list of attribute paths (`members`, `name.givenName`),
 * compared case-insensitively (RFC 7643 §2.1), optionally qualified by the
 * resource's schema URN (§3.10). `id` and `schemas` are returned whatever
 * is asked (RFC 7643 §3.1 and §7: `returned: always`). A name this server
 * does not keep selects nothing; text that is not an attribute path is a 400
 * `invalidValue`, read before the request does anything.
 *
 * Microsoft Entra asks for `excludedAttributes=members` on every Group it
 * looks up; answered in full, each lookup carried up to MAX_GROUP_MEMBERS
 * members it never reads.
 */
import type { MiddlewareHandler } from "hono";
import { SCIM_CONTENT_TYPE, ScimError } from "../../../../shared/errors/scim.ts";
import type { ScimApp } from "./authenticate.ts";
import { isObject, SCIM_SCHEMA } from "./resources.ts";

/** `selected`: only these (with the always-returned); `excluded`: all but these. */
export interface Projection {
  mode: "selected" | "excluded";
  paths: AttributePath[];
}

/** One path, lower-cased: the schema URN it was qualified by (if any), the attribute, the sub-attribute. */
interface AttributePath {
  schema: string | undefined;
  attribute: string;
  subAttribute: string | undefined;
}

const ALWAYS_RETURNED: ReadonlySet<string> = new Set(["id", "schemas"]);
/** RFC 7644 §3.10 ATTRNAME (with `$ref`), then at most one sub-attribute: SCIM's complex attributes nest once. */
const PATH = /^([a-z$][\w$-]*)(?:\.([a-z$][\w$-]*))?$/i;
const MAX_LIST_CHARACTERS = 2048;

/** The request's projection, if it asks for one; 400 `invalidValue` for a list that names no attribute path. */
export function projectionOf(params: URLSearchParams): Projection | undefined {
  const selected = params.getAll("attributes");
  const excluded = params.getAll("excludedAttributes");
  if (selected.length === 0 && excluded.length === 0) return undefined;
  if (selected.length + excluded.length > 1) {
    throw new ScimError("invalidValue", "give attributes or excludedAttributes once, not both or twice");
  }
  const mode = selected.length > 0 ? "selected" : "excluded";
  const list = (selected[0] ?? excluded[0] ?? "").trim();
  if (list === "" || list.length > MAX_LIST_CHARACTERS) {
    throw new ScimError(
      "invalidValue",
      `${mode === "selected" ? "attributes" : "excludedAttributes"}: a list of attribute names`,
    );
  }
  return { mode, paths: list.split(",").map(attributePath) };
}

function attributePath(written: string): AttributePath {
  const text = written.trim().toLowerCase();
  // A schema URN holds colons itself: the path is what follows the last one.
  const colon = text.lastIndexOf(":");
  const schema = colon >= 0 ? text.slice(0, colon) : undefined;
  const match = PATH.exec(colon >= 0 ? text.slice(colon + 1) : text);
  if (!match || (schema !== undefined && !schema.startsWith("urn:"))) {
    throw new ScimError("invalidValue", `not an attribute path: ${written.trim().slice(0, 64)}`);
  }
  return { schema, attribute: match[1] as string, subAttribute: match[2] };
}

/**
 * Whether an answer shaped by `projection` carries any of `attribute` of a
 * resource of core schema `schema`, so a store need not read what the
 * projection would drop: `members` for `excludedAttributes=members` or
 * `attributes=displayName`, not for `excludedAttributes=members.display`.
 * Decides as project() does: paths qualified by another schema name nothing.
 */
export function returnsAttribute(projection: Projection | undefined, schema: string, attribute: string): boolean {
  if (projection === undefined) return true;
  const [urn, name] = [schema.toLowerCase(), attribute.toLowerCase()];
  const named = projection.paths.filter((p) => (p.schema === undefined || p.schema === urn) && p.attribute === name);
  return projection.mode === "selected" ? named.length > 0 : !named.some((p) => p.subAttribute === undefined);
}

/** The resource as the projection asks for it. */
export function project(resource: Record<string, unknown>, projection: Projection): Record<string, unknown> {
  const schemas = Array.isArray(resource.schemas) ? resource.schemas.map((s) => String(s).toLowerCase()) : [];
  // Paths qualified by another resource's schema select nothing here.
  const paths = projection.paths.filter((p) => p.schema === undefined || schemas.includes(p.schema));
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(resource)) {
    const key = name.toLowerCase();
    if (ALWAYS_RETURNED.has(key)) {
      out[name] = value;
      continue;
    }
    const whole = paths.some((p) => p.attribute === key && p.subAttribute === undefined);
    const subs = paths.filter((p) => p.attribute === key && p.subAttribute !== undefined).map((p) => p.subAttribute);
    if (projection.mode === "selected") {
      if (whole) out[name] = value;
      else if (subs.length > 0) out[name] = withSubAttributes(value, (sub) => subs.includes(sub));
    } else if (!whole) {
      out[name] = subs.length > 0 ? withSubAttributes(value, (sub) => !subs.includes(sub)) : value;
    }
  }
  return out;
}

/** A complex attribute (or each value of a multi-valued one) with only the sub-attributes `keep` accepts. */
function withSubAttributes(value: unknown, keep: (sub: string) => boolean): unknown {
  const pick = (item: unknown) =>
    isObject(item) ? Object.fromEntries(Object.entries(item).filter(([sub]) => keep(sub.toLowerCase()))) : item;
  return Array.isArray(value) ? value.map(pick) : pick(value);
}

/**
 * The middleware on /Users and /Groups: the projection is read before the
 * handler runs (a bad list changes nothing), and applied to its successful
 * answer, a resource or each resource of a ListResponse.
 */
export const attributeProjection: MiddlewareHandler<ScimApp> = async (c, next) => {
  const projection = projectionOf(new URL(c.req.url).searchParams);
  await next();
  if (projection === undefined || c.res.status >= 300) return;
  if (!(c.res.headers.get("Content-Type") ?? "").startsWith(SCIM_CONTENT_TYPE)) return;
  const body: unknown = await c.res.clone().json();
  if (!isObject(body)) return;
  const projected =
    Array.isArray(body.schemas) && body.schemas.includes(SCIM_SCHEMA.listResponse) && Array.isArray(body.Resources)
      ? { ...body, Resources: body.Resources.map((r) => (isObject(r) ? project(r, projection) : r)) }
      : project(body, projection);
  const { status } = c.res;
  const headers = new Headers(c.res.headers);
  headers.delete("Content-Length");
  c.res = undefined;
  c.res = new Response(JSON.stringify(projected), { status, headers });
};
