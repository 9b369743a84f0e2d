/// <reference types="vite/client" />
import { getCookies } from "better-auth/cookies";
import { describe, expect, it } from "vitest";
import endpointsDoc from "../../docs/endpoints.md?raw";
import storageDoc from "../../docs/storage-schema.md?raw";
import { BETTER_AUTH_PLUGIN_COOKIE, cookiePrefix, OWN_COOKIE } from "../../shared/contracts/cookies.ts";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { baseAuthOptions } from "../../workers/authn/src/auth/options.ts";
import app from "../../workers/authn/src/index.ts";
import { scimApp } from "../../workers/authn/src/scim/app.ts";
import { documentedRoutes, servedRoutes, undocumentedKeys } from "../support/runtime/docs-coverage.ts";

/** Every source file of the Workers and of shared/, as text. */
const SOURCES: Readonly<Record<string, string>> = import.meta.glob(
  ["../../workers/*/src/**/*.{ts,tsx}", "../../shared/**/*.ts"],
  { query: "?raw", import: "default", eager: true },
);

/** `<prefix>.<name>` for each name, as docs/storage-schema.md writes a cookie. */
function prefixed(names: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(names).map(([key, name]) => [key, `<prefix>.${name}`]));
}

// The bar: every public endpoint in docs/. The authn Worker's router (pages,
// account actions, Better Auth's API, the console, SCIM) held to
// docs/endpoints.md's route index (the token Worker's: test/token/docs-coverage.test.ts).
describe("docs cover what the authn Worker serves", () => {
  it("names every route in the route index", () => {
    // SCIM answers its own 405s, which Hono wraps one by one when it mounts the
    // app (its error handler is its own): they are told apart in SCIM's app itself.
    const scim = `${ENDPOINT.scim}/`;
    const served = new Set([
      ...[...servedRoutes(app.routes)].filter((route) => !route.split(" ")[1]?.startsWith(scim)),
      ...servedRoutes(scimApp().routes, ENDPOINT.scim),
    ]);
    expect(served.size).toBeGreaterThan(60);
    const documented = documentedRoutes(endpointsDoc);
    expect([...served].filter((route) => !documented.has(route))).toEqual([]);
  });
});

// Every cookie name on the origin, held to docs/storage-schema.md "## Cookies":
// ours and Better Auth's plugins' from shared/contracts/cookies.ts, Better
// Auth's core ones from its config (what it would set and expire).
describe("docs cover every cookie", () => {
  const heading = "## Cookies";

  it("names every cookie of shared/contracts/cookies.ts", () => {
    expect([
      ...undocumentedKeys("OWN_COOKIE", prefixed(OWN_COOKIE), storageDoc, heading),
      ...undocumentedKeys("BETTER_AUTH_PLUGIN_COOKIE", prefixed(BETTER_AUTH_PLUGIN_COOKIE), storageDoc, heading),
    ]).toEqual([]);
  });

  it("names every core cookie of Better Auth as our config names it", () => {
    for (const issuer of ["https://issuer.example", "http://localhost:8787"]) {
      const cookies = getCookies(baseAuthOptions(issuer));
      const prefix = `${cookiePrefix(issuer)}.`;
      const names = Object.fromEntries(Object.entries(cookies).map(([key, { name }]) => [key, name]));
      expect(
        Object.values(names).filter((name) => !name.startsWith(prefix)),
        issuer,
      ).toEqual([]);
      const shapes = Object.fromEntries(
        Object.entries(names).map(([key, name]) => [key, `<prefix>.${name.slice(prefix.length)}`]),
      );
      expect(Object.keys(shapes)).toEqual(expect.arrayContaining(["sessionToken", "dontRememberToken"]));
      expect(undocumentedKeys("getCookies(baseAuthOptions)", shapes, storageDoc, heading), issuer).toEqual([]);
    }
  });

  it("spells the cookie prefix only in shared/contracts/cookies.ts", () => {
    // A quoted name with the prefix anywhere else is a cookie the contract (and so the docs) does not know.
    const spelled = /["']((__Host-)?mono(\.\w+)?)["']/;
    const elsewhere = Object.entries(SOURCES)
      .filter(([path, text]) => !path.endsWith("shared/contracts/cookies.ts") && spelled.test(text))
      .map(([path, text]) => `${path}: ${spelled.exec(text)?.[1]}`);
    expect(Object.keys(SOURCES).length).toBeGreaterThan(200);
    expect(elsewhere).toEqual([]);
  });
});
