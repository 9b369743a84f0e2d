import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";
it("boots", async () => {
  const r = await exports.default.fetch("http://localhost/x");
  expect(r.status).toBe(200);
  expect(env.ISSUER).toBe("http://localhost:8787");
});
