/// <reference types="vite/client" />
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import endpointsDoc from "../../docs/endpoints.md?raw";
import storageDoc from "../../docs/storage-schema.md?raw";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { mintLimiterName } from "../../shared/contracts/mint-limit.ts";
import { REPLAY_SCOPE, replayGuardName } from "../../shared/contracts/replay.ts";
import { ssfTransmitterName } from "../../shared/contracts/ssf.ts";
import {
  CACHE_KEY,
  KV_KEY,
  ORG_STATE_META,
  orgStateName,
  SSF_TRANSMITTER_META,
} from "../../shared/contracts/storage-keys.ts";
import { AGENT_API } from "../../shared/contracts/mcp.ts";
import { VAULT_PATH } from "../../shared/contracts/vault.ts";
import { app } from "../../workers/token/src/app.ts";
import { adminRouter } from "../../workers/token/src/admin/router.ts";
import { registeredRoutes } from "../../workers/token/src/admin/route.ts";
import { agentApi } from "../../workers/token/src/mcp/agent-api.ts";
import { ssfRoutes } from "../../workers/token/src/ssf/routes.ts";
import { vaultFlowRoutes } from "../../workers/token/src/vault/routes.ts";
import {
  documentedRoutes,
  documentedTables,
  normaliseRoutePath,
  schemaTables,
  servedRoutes,
  undocumentedColumns,
  docSection,
  documentedKeys,
  documentedWords,
  keyShape,
  objectTables,
  undocumentedKeys,
} from "../support/runtime/docs-coverage.ts";

/** Every Worker's wrangler.toml, as text. */
const WRANGLER_CONFIGS: Readonly<Record<string, string>> = import.meta.glob(
  ["../../wrangler.toml", "../../workers/*/wrangler.toml"],
  { query: "?raw", import: "default", eager: true },
);

/** Every source file of the Workers and of shared/, as text. */
const SOURCES: Readonly<Record<string, string>> = import.meta.glob(
  ["../../workers/*/src/**/*.{ts,tsx}", "../../shared/**/*.ts"],
  { query: "?raw", import: "default", eager: true },
);

/**
 * A storage key or object name written as a literal where it is used,
 * instead of built by its contract (so neither the contract nor the docs
 * would know it): a KV read or write, a Durable Object addressed, a
 * Durable Object's key-value storage, an object's `meta` row.
 */
const LITERAL_KEY = [
  /\b(?:kv|KV)\.(?:get|put|delete|getWithMetadata)\(\s*["'`]/,
  /\.(?:getByName|idFromName)\(\s*["'`]/,
  /\bstorage\.(?:get|put|delete)\(\s*["'`]/,
  /\b(?:get|set|delete)Meta\(\s*["'`]/,
  /\bFROM meta WHERE key = '|\bINTO meta \(key, value\) VALUES \('/,
];

/** Each Durable Object class bound in a wrangler.toml, and how its objects are named (its contract's builder). */
const OBJECT_NAME: Readonly<Record<string, (key: string) => string>> = {
  OrgState: orgStateName,
  MintLimiter: mintLimiterName,
  ReplayGuard: replayGuardName,
  SsfTransmitter: ssfTransmitterName,
};

// The bar: every public endpoint and every D1 table and column in docs/. The
// token Worker's routers and both databases, held to docs/endpoints.md's
// route index and docs/storage-schema.md (the authn Worker's routes:
// test/authn/docs-coverage.test.ts).
describe("docs cover what the token Worker serves and what D1 holds", () => {
  it("names every route with its method: the Worker's own and its admin, agent, vault and SSF routers", () => {
    const documented = documentedRoutes(endpointsDoc);
    // The routers answer their own 405s, which Hono wraps one by one when it
    // mounts them (each has its own error handler): read in the routers themselves.
    const mounted = [ENDPOINT.admin, AGENT_API.prefix, VAULT_PATH.base, ENDPOINT.ssf].map((prefix) => `${prefix}/`);
    const own = [...servedRoutes(app.routes)].filter(
      (route) => !mounted.some((prefix) => `${route.split(" ")[1]}/`.startsWith(prefix)),
    );
    expect(own).toEqual(expect.arrayContaining(["POST /oauth2/token", "GET /.well-known/jwks.json"]));
    const served = new Set<string>([
      ...own,
      ...registeredRoutes(adminRouter()).map(
        ({ method, path }) => `${method.toUpperCase()} ${normaliseRoutePath(`${ENDPOINT.admin}${path}`)}`,
      ),
      ...servedRoutes(agentApi().routes, AGENT_API.prefix),
      ...servedRoutes(vaultFlowRoutes().routes, VAULT_PATH.base),
      ...servedRoutes(ssfRoutes().routes, ENDPOINT.ssf),
    ]);
    expect(served.size).toBeGreaterThan(100);
    expect([...served].filter((route) => !documented.has(route))).toEqual([]);
  });

  it("reads a route index row as the docs write it", () => {
    const sample = [
      "## Route index",
      "| method, path | what |",
      "|---|---|",
      "| `GET`/`PATCH /admin/v1/orgs/{org}/clients/{id}`, `POST …/clients/{id}/disable`, `…/clients/{id}/rotate` | x |",
      "| `GET /scim/v2/Schemas`, `/scim/v2/Schemas/{id}` | x |",
      "| `POST …/orphan` | x |",
      "| `POST /admin/v1/orgs/{org}/links/inspect {link}`, `POST …/links/confirm {link, origin?}` | x |",
      "## Next",
      "| `DELETE /elsewhere` | x |",
    ].join("\n");
    expect([...documentedRoutes(`\n${sample}`)].sort()).toEqual([
      "GET /admin/v1/orgs/{}/clients/{}",
      "GET /scim/v2/Schemas",
      "GET /scim/v2/Schemas/{}",
      "PATCH /admin/v1/orgs/{}/clients/{}",
      "POST /admin/v1/orgs/{}/clients/{}/disable",
      "POST /admin/v1/orgs/{}/clients/{}/rotate",
      "POST /admin/v1/orgs/{}/links/confirm",
      "POST /admin/v1/orgs/{}/links/inspect",
    ]);
  });

  it("names every public path of shared/contracts/endpoints.ts", () => {
    const missing = Object.entries(ENDPOINT).filter(
      ([, path]) =>
        !endpointsDoc.includes(`${path}\``) && !endpointsDoc.includes(`${path} `) && !endpointsDoc.includes(`${path}/`),
    );
    expect(missing).toEqual([]);
  });

  it("describes every table and column of both D1 databases", async () => {
    const documented = documentedTables(storageDoc);
    const main = await schemaTables(env.DB);
    const audit = await schemaTables(env.AUDIT_DB);
    expect(main.size).toBeGreaterThan(40);
    expect(audit.size).toBeGreaterThan(1);
    expect(undocumentedColumns(new Map([...main, ...audit]), documented)).toEqual([]);
  });
});

// Every KV key, Durable Object name and Durable Object storage key from its
// contract in shared/contracts, held to docs/storage-schema.md's section for
// it: a key added to a contract without its docs fails here, naming both.
describe("docs cover every storage key the contracts define", () => {
  it("names every KV key and Cache API key", () => {
    expect(undocumentedKeys("KV_KEY", KV_KEY, storageDoc, "## KV")).toEqual([]);
    const cache = documentedKeys(docSection(storageDoc, "## Cache API"));
    const missing = Object.keys(CACHE_KEY).filter(
      (name) => ![...cache].some((span) => span.startsWith(`CACHE_KEY.${name}(`)),
    );
    expect(missing.map((name) => `CACHE_KEY.${name} not named in "## Cache API"`)).toEqual([]);
  });

  it("names every Durable Object class the Workers bind, and the name each object is addressed by", () => {
    const bound = new Set(
      Object.values(WRANGLER_CONFIGS).flatMap((toml) =>
        [...toml.matchAll(/^class_name = "(\w+)"/gm)].map(([, name = ""]) => name),
      ),
    );
    expect(Object.keys(WRANGLER_CONFIGS).length).toBeGreaterThan(4);
    expect([...bound].sort()).toEqual(Object.keys(OBJECT_NAME).sort());
    const missing = Object.entries(OBJECT_NAME).flatMap(([className, name]) =>
      undocumentedKeys(className, { name }, storageDoc, `### \`${className}\``),
    );
    expect(missing).toEqual([]);
  });

  it("names every ReplayGuard scope and every key of the objects' meta tables", () => {
    expect([
      ...undocumentedKeys("REPLAY_SCOPE", REPLAY_SCOPE, storageDoc, "### `ReplayGuard`"),
      ...undocumentedKeys("ORG_STATE_META", ORG_STATE_META, storageDoc, "### `OrgState`"),
      ...undocumentedKeys("SSF_TRANSMITTER_META", SSF_TRANSMITTER_META, storageDoc, "### `SsfTransmitter`"),
    ]).toEqual([]);
  });

  it("describes every table, column and index the Durable Objects keep", () => {
    const documented = documentedWords(docSection(storageDoc, "## Durable Objects"));
    const tables = objectTables(SOURCES);
    expect([...tables.keys()].sort()).toEqual(expect.arrayContaining(["mint_window", "outbox", "revocation", "used"]));
    const missing = [...tables].flatMap(([table, names]) =>
      [table, ...names]
        .filter((name) => !documented.has(name))
        .map((name) => `${table}: \`${name}\` not named in docs/storage-schema.md "## Durable Objects"`),
    );
    expect(missing).toEqual([]);
  });

  it("builds every key where it is used through its contract, never from a literal", () => {
    const literal = Object.entries(SOURCES).flatMap(([path, text]) =>
      text
        .split("\n")
        .flatMap((line, at) =>
          LITERAL_KEY.some((pattern) => pattern.test(line)) ? [`${path}:${at + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(Object.keys(SOURCES).length).toBeGreaterThan(200);
    expect(literal).toEqual([]);
  });

  it("reads a key builder and a docs section as they are written", () => {
    expect(keyShape(KV_KEY.policy)).toBe("policy:<>:v<>");
    const created = objectTables({
      "a.ts": "exec(`CREATE TABLE IF NOT EXISTS t (a TEXT NOT NULL, b INTEGER, PRIMARY KEY (a, b));`)",
      "b.ts": 'exec("ALTER TABLE t ADD COLUMN c TEXT"); exec("CREATE INDEX IF NOT EXISTS t_by_c ON t (c)")',
    });
    expect([...(created.get("t") ?? [])]).toEqual(["a", "b", "c", "t_by_c"]);
    const written = [
      'await env.KV.get("jwks:v1", "json")',
      "env.ORG_STATE.getByName(`org:${orgId}`)",
      "this.outbox.setMeta('cursor', value)",
      "exec(\"SELECT value FROM meta WHERE key = 'version'\")",
    ];
    expect(written.filter((line) => !LITERAL_KEY.some((pattern) => pattern.test(line)))).toEqual([]);
    const doc = ["## KV", "| `policy:<org_id>:v<n>` | `jwks:v1` |", "## Next", "| `revocations:<org_id>` |"].join("\n");
    expect(undocumentedKeys("KV_KEY", KV_KEY, doc, "## KV")).toEqual([
      'KV_KEY.revocationMirror: `revocations:<>` not named in docs/storage-schema.md "## KV"',
    ]);
  });
});
