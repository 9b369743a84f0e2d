// `mono-auth mcp register --saved-connection`: a registered MCP server names
// one of its org's vault providers (by name here), and the admin API stores
// that provider's id, whose saved token the gateway then sends the server
// (test/gateway/mcp-saved-connection.test.ts shows the injection). A
// provider the org does not have is the admin API's 400 invalid_body.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: OperatorCli;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "mcp-saved");
}, 120_000);

afterAll(async () => {
  await system?.close();
});

describe("mono-auth mcp register --saved-connection", () => {
  it("names the org's vault provider; an unknown one is refused with invalid_body", async () => {
    const orgId = (await operator.json<{ id: string }>("org", "create", "--name", "mcp-saved")).id;
    const provider = await operator.json<{ id: string }>(
      ...["vault", "provider", "create", "--org", orgId, "--name", "crm", "--resource", "https://crm.example.com/mcp"],
      ...["--authorization-endpoint", "https://crm.example.com/authorize"],
      ...["--token-endpoint", "https://crm.example.com/token", "--client-id", "our-client"],
    );
    const register = (name: string, savedConnection: string) => [
      ...["mcp", "register", "--org", orgId, "--name", name, "--upstream", "https://crm.example.com/mcp"],
      ...["--tool", "find_customer", "--owner", "sales-ops", "--saved-connection", savedConnection],
    ];
    const server = await operator.json<{ name: string; saved_connection: string | null }>(...register("crm", "crm"));
    expect(server).toMatchObject({ name: "crm", saved_connection: provider.id });

    const refused = await operator.cli(...register("crm-two", "no-such-provider"), "--json");
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toContain("invalid_body");
  });
});
