// The admin API's OpenAPI 3.1 document (ENDPOINT.adminOpenApi): derived
// from the router, so every route the router holds is an operation, and
// structurally sound (unique operation ids, path templates and parameters
// agreeing, every $ref resolving, the problem responses declared).
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { RECORDABLE_REVOCATION_KINDS } from "../../shared/contracts/revocation.ts";
import { PROBLEM_CONTENT_TYPE } from "../../shared/errors/problem.ts";
import { adminRouter } from "../../workers/token/src/admin/router.ts";
import { orgAdminReaches } from "../../workers/token/src/admin/authorize.ts";
import { registeredRoutes } from "../../workers/token/src/admin/route.ts";
import { openApiPath } from "../../workers/token/src/openapi/document.ts";

type Json = Record<string, unknown>;
const METHODS = ["get", "post", "put", "patch", "delete"];

async function fetchDocument(): Promise<{ response: Response; document: Json }> {
  const response = await exports.default.fetch(new Request(`http://localhost${ENDPOINT.adminOpenApi}`));
  return { response, document: (await response.clone().json()) as Json };
}

/** Every `$ref` in the document, with where it was found. */
function refs(value: unknown, at = "#"): [string, string][] {
  if (Array.isArray(value)) return value.flatMap((item, i) => refs(item, `${at}/${i}`));
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key === "$ref" && typeof item === "string" ? [[at, item] as [string, string]] : refs(item, `${at}/${key}`),
  );
}

function resolve(document: Json, ref: string): unknown {
  return ref
    .replace(/^#\//, "")
    .split("/")
    .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], document);
}

describe("admin API: the OpenAPI document", () => {
  it("is served without authentication at a stable URL, as OpenAPI 3.1 for this issuer", async () => {
    const { response, document } = await fetchDocument();
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/json");
    expect(document.openapi).toBe("3.1.0");
    expect(document.info).toMatchObject({ title: "Mono-Auth admin API", version: "1" });
    expect(document.servers).toEqual([{ url: `${env.ISSUER}${ENDPOINT.admin}` }]);
    expect(document.security).toEqual([{ operatorToken: [] }]);
  });

  it("has an operation for every route the router holds, described where the route declared it", async () => {
    const { document } = await fetchDocument();
    const paths = document.paths as Record<string, Record<string, Json>>;
    const router = adminRouter();
    const routes = router.routes.filter((r) => METHODS.includes(r.method.toLowerCase()));
    expect(routes.length).toBeGreaterThan(30);
    for (const r of routes) {
      expect(paths[openApiPath(r.path)]?.[r.method.toLowerCase()], `${r.method} ${r.path}`).toBeDefined();
    }
    const operations = Object.values(paths).flatMap((item) => Object.values(item));
    expect(operations.length).toBe(routes.length);
    for (const described of registeredRoutes(router)) {
      const op = paths[openApiPath(described.path)]?.[described.method] as Json;
      expect(op.summary).toBe(described.summary);
      if (described.body) expect(op.requestBody).toBeDefined();
    }
    // The client registration documents its body's fields and the secret shown once.
    const create = paths["/orgs/{org}/clients"]?.post as Json;
    const body = (create.requestBody as Json).content as Record<string, { schema: Json }>;
    expect(Object.keys(body["application/json"]?.schema.properties as Json)).toEqual(
      expect.arrayContaining(["client_name", "client_type", "scope", "audiences", "token_endpoint_auth_method"]),
    );
    expect(Object.keys(create.responses as Json)).toContain("201");
  });

  it("is structurally sound: unique operation ids, path parameters as templated, $refs resolving, problem errors", async () => {
    const { document } = await fetchDocument();
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
      expect(path.startsWith("/")).toBe(true);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      for (const [method, op] of Object.entries(item)) {
        expect(METHODS).toContain(method);
        const id = op.operationId as string;
        expect(ids.has(id), id).toBe(false);
        ids.add(id);
        const parameters = (op.parameters ?? []) as Json[];
        const inPath = parameters
          .filter((p) => p.in === "path")
          .map((p) => {
            expect(p.required).toBe(true);
            return p.name as string;
          })
          .sort();
        expect(inPath, `${method} ${path}`).toEqual(templated);
        for (const p of parameters) expect(["path", "query"]).toContain(p.in);
        const responses = op.responses as Json;
        expect(
          Object.keys(responses).some((s) => /^2\d\d$/.test(s)),
          `${method} ${path}`,
        ).toBe(true);
        expect(responses.default).toEqual({ $ref: "#/components/responses/Problem" });
      }
    }
    for (const [at, ref] of refs(document)) expect(resolve(document, ref), `${at} → ${ref}`).toBeDefined();
    const problem = (document.components as Json).responses as Record<string, { content: Json }>;
    expect(Object.keys(problem.Problem?.content ?? {})).toEqual([PROBLEM_CONTENT_TYPE]);
    const types = document["x-problem-types"] as { type: string; code: string }[];
    expect(types).toContainEqual(
      expect.objectContaining({ type: "urn:mono-auth:problem:not_found", code: "not_found" }),
    );
  });

  it("lists as a revocation's kind exactly what the org's object records (the contract's list, client_subject not among them)", async () => {
    const { document } = await fetchDocument();
    const paths = document.paths as Record<string, Record<string, Json>>;
    const body = (paths["/orgs/{org}/revocations"]?.post?.requestBody as Json).content as Record<string, Json>;
    let schema = body["application/json"]?.schema as Json;
    if (typeof schema.$ref === "string") schema = resolve(document, schema.$ref) as Json;
    const kind = (schema.properties as Record<string, Json>).kind as Json;
    expect(kind.enum).toEqual([...RECORDABLE_REVOCATION_KINDS]);
    expect(kind.enum).not.toContain("client_subject");
  });

  it("says an operation is open to org admins exactly when admin/authorize.ts lets an org admin call it", async () => {
    const { document } = await fetchDocument();
    const ORG = "org_openapi_reach";
    const OPENAPI_PATH = ENDPOINT.adminOpenApi.slice(ENDPOINT.admin.length);
    let orgOperations = 0;
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
      if (path === OPENAPI_PATH) continue; // served before authentication
      // A concrete request: the caller's own org in {org}, any value elsewhere.
      const concrete = path.replaceAll("{org}", ORG).replace(/\{[^}]+\}/g, "x");
      for (const [method, op] of Object.entries(item)) {
        const reaches = orgAdminReaches(new Set([ORG]), method.toUpperCase(), concrete);
        const expected = !reaches
          ? "Platform operators only."
          : path.startsWith("/orgs/{org}/")
            ? "Platform operators, and admins (owner or admin role) of the organization in the path."
            : "Platform operators; org admins see their own organizations only.";
        expect(op["x-access"], `${method} ${path}`).toBe(expected);
        if (path.startsWith("/orgs/{org}/")) orgOperations++;
      }
    }
    // Every operation below an org is its admins' (the console's pages rely on it).
    expect(orgOperations).toBeGreaterThan(40);
  });
});
