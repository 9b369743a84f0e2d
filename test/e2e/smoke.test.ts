import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.close());

it("serves on one origin", async () => {
  const r = await system.fetch("/anything");
  expect(r.status).toBe(200);
  console.log(system.origin, await r.text());
});
