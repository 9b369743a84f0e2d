// The agent API shares the admin API's error writer (admin/errors.ts); its
// 413 told an agent that "an admin request body" was too large, naming an
// API the agent never called. Both now say what was refused, and nothing else.
import { describe, expect, it } from "vitest";
import { AGENT_API } from "../../shared/contracts/mcp.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";
import { agentRequest, setup } from "./mcp-access-fixtures.ts";

describe("a body over the cap", () => {
  it("at the agent API: 413 payload_too_large, naming no other API", async () => {
    const { token } = await setup();
    const response = await agentRequest("POST", AGENT_API.accessRequests, token, { reason: "a".repeat(17 * 1024) });
    const body = await expectOAuthError(response, 413, "payload_too_large");
    expect(body.error_description).toBe("a request body is at most 16384 bytes");
  });

  it("at the admin API: the same words, as a problem document", async () => {
    const response = await adminRequest("POST", "/orgs", {
      token: await adminToken(),
      body: { name: "a".repeat(65 * 1024) },
    });
    const body = await expectHttpError(response, 413, "payload_too_large");
    expect(body.error_description).toBe("a request body is at most 65536 bytes");
  });
});
