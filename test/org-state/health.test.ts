// GET /health of the org-state Worker: the one thing its fetch answers (the
// gateway's /health asks it over a service binding); every other request is
// 404, since its objects are reached only through their bindings.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";

describe("org-state Worker: /health", () => {
  it("GET /health: 200, the Worker named, never cached", async () => {
    const response = await exports.default.fetch(`https://internal${ENDPOINT.health}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toEqual({ status: "ok", worker: "org-state" });
  });

  it("anything else is 404 not_found: a POST to /health, or any other path", async () => {
    for (const [path, method] of [
      [ENDPOINT.health, "POST"],
      ["/", "GET"],
      ["/revocations", "GET"],
    ] as const) {
      const response = await exports.default.fetch(`https://internal${path}`, { method });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(await response.json()).toMatchObject({ error: "not_found" });
    }
  });
});
