import { describe, expect, it } from "vitest";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { adminToken } from "./admin-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";
import { receiverToken, registerReceiver, revokeInOrg, ssfRequest } from "./ssf-fixtures.ts";

const SSE = { Accept: "text/event-stream" };

describe("the org's live revocation stream for its own clients", () => {
  it("streams the org's events to a client of that org holding revocations:read", async () => {
    const client = await registerReceiver(undefined, [SCOPE.revocationsRead]);
    const orgId = client.orgId as string;
    await revokeInOrg(orgId, "subject", "u-streamed");
    const response = await ssfRequest(
      "GET",
      `/orgs/${orgId}/revocations/stream?after=0`,
      await receiverToken(client),
      undefined,
      SSE,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader?.read();
    expect(first?.value).toContain('"value":"u-streamed"');
    await reader?.cancel();
  });

  it("refuses a token of another org with 403 forbidden, before anything is streamed", async () => {
    const owner = await registerReceiver(undefined, [SCOPE.revocationsRead]);
    const other = await registerReceiver(undefined, [SCOPE.revocationsRead]);
    const response = await ssfRequest(
      "GET",
      `/orgs/${owner.orgId}/revocations/stream?after=0`,
      await receiverToken(other),
      undefined,
      SSE,
    );
    await expectOAuthError(response, 403, "forbidden");
  });

  it("needs revocations:read, a token for the transmitter, and a token at all", async () => {
    const manager = await registerReceiver(undefined, [SCOPE.ssfManage]);
    const path = `/orgs/${manager.orgId}/revocations/stream`;
    const unscoped = await ssfRequest("GET", path, await receiverToken(manager), undefined, SSE);
    await expectOAuthError(unscoped, 403, "insufficient_scope");
    expect(unscoped.headers.get("WWW-Authenticate")).toContain('scope="revocations:read"');

    // Operators follow the stream through the admin API (GET /admin/v1/orgs/{org}/revocations/stream).
    await expectOAuthError(await ssfRequest("GET", path, await adminToken(), undefined, SSE), 401, "invalid_token");

    const none = await ssfRequest("GET", path, undefined, undefined, SSE);
    expect(none.status).toBe(401);
    expect(none.headers.get("WWW-Authenticate")).toBe('Bearer realm="mono-auth"');
  });
});
