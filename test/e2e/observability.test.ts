// Observability across the Workers on the one origin: GET /health answers
// for the gateway and each Worker it binds; every request gets the
// gateway's request id (X-Request-ID), which is returned on the answer and
// forwarded to the Worker or downstream that serves it, and an inbound one,
// in any spelling, is replaced, never trusted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { REQUEST_ID_HEADER } from "../../shared/contracts/headers.ts";
import { clientCredentialsToken, operatorCli, orgWithMachineClient } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let system: RunningSystem;

beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.close());

describe("observability", () => {
  it("GET /health: the gateway and each Worker it binds", async () => {
    const response = await system.fetch(ENDPOINT.health);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toEqual({
      status: "ok",
      worker: "gateway",
      checks: { token: "ok", authn: "ok", demo: "ok", "org-state": "ok" },
    });
    expect(response.headers.get(REQUEST_ID_HEADER)).toMatch(UUID);
  });

  it("gives every answer a fresh request id, whatever id the caller sent", async () => {
    const forged = await system.fetch(ENDPOINT.token, {
      method: "POST",
      headers: { [REQUEST_ID_HEADER]: "chosen-by-caller", "Content-Type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials",
    });
    expect(forged.status).toBe(400);
    const id = forged.headers.get(REQUEST_ID_HEADER);
    expect(id).toMatch(UUID);
    const again = await system.fetch("/no/such/route");
    expect(again.status).toBe(404);
    expect(again.headers.get(REQUEST_ID_HEADER)).toMatch(UUID);
    expect(again.headers.get(REQUEST_ID_HEADER)).not.toBe(id);
  });

  it("forwards the gateway's id downstream and drops the caller's, in any spelling", async () => {
    const operator = await operatorCli(system, "observer");
    const { client } = await orgWithMachineClient(operator, "Observed");
    const token = await clientCredentialsToken(system, client);
    const response = await system.fetch(ENDPOINT.demoEcho, {
      headers: { Authorization: `Bearer ${token}`, "X-Request-ID": "forged", X_Request_ID: "forged-too" },
    });
    expect(response.status).toBe(200);
    const echoed = (await response.json()) as { headers: [string, string][] };
    const ids = echoed.headers.filter(([name]) => name.toLowerCase().replaceAll("_", "-") === "x-request-id");
    expect(ids).toEqual([["x-request-id", response.headers.get(REQUEST_ID_HEADER)]]);
  });
});
