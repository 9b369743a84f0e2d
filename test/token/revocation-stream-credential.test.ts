// A live revocation stream lives no longer than the credential that opened
// it: authorised once at connect, it otherwise kept carrying the org's
// revocations (people's and sessions' ids) to a client disabled or deleted
// since, or to an org admin removed from the org.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { seedSession } from "./fixtures.ts";
import { receiverToken, registerReceiver, revokeInOrg, ssfRequest } from "./ssf-fixtures.ts";

const SSE = { Accept: "text/event-stream" };

/** Everything an SSE stream sends until it ends (or `limitMs` passes: then "open"). */
async function drain(response: Response, limitMs = 5000): Promise<{ text: string; ended: boolean }> {
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (!reader) throw new Error("no body");
  let text = "";
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const next = await Promise.race([
      reader.read(),
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), deadline - Date.now())),
    ]);
    if (next === "timeout") break;
    if (next.done) return { text, ended: true };
    text += next.value;
  }
  await reader.cancel();
  return { text, ended: false };
}

describe("a revocation stream ends with its credential", () => {
  it("SSE: revoking the subscribing client closes its stream before anything more is sent", async () => {
    const client = await registerReceiver(undefined, [SCOPE.revocationsRead]);
    const orgId = client.orgId as string;
    const response = await ssfRequest(
      "GET",
      `/orgs/${orgId}/revocations/stream`,
      await receiverToken(client),
      undefined,
      SSE,
    );
    expect(response.status).toBe(200);
    // What disabling, deleting or rotating the client records (workers/token/src/clients/revoke-client.ts).
    await revokeInOrg(orgId, "client", client.clientId);
    await revokeInOrg(orgId, "subject", "u-after-the-client-went");
    const { text, ended } = await drain(response);
    expect(ended).toBe(true);
    expect(text).not.toContain("u-after-the-client-went");
  });

  it("WebSocket: revoking the subscribing client closes its socket with 1008; another client's stays", async () => {
    const revoked = await registerReceiver(undefined, [SCOPE.revocationsRead]);
    const orgId = revoked.orgId as string;
    const staying = await registerReceiver(orgId, [SCOPE.revocationsRead]);
    const open = async (token: string) => {
      const response = await ssfRequest("GET", `/orgs/${orgId}/revocations/stream`, token, undefined, {
        Upgrade: "websocket",
      });
      expect(response.status).toBe(101);
      const socket = response.webSocket;
      if (!socket) throw new Error("no WebSocket");
      const seen = { values: [] as string[], closed: undefined as number | undefined };
      socket.addEventListener("message", (event) => seen.values.push(JSON.parse(String(event.data)).value));
      socket.addEventListener("close", (event) => {
        seen.closed = event.code;
      });
      socket.accept();
      return { socket, seen };
    };
    const gone = await open(await receiverToken(revoked));
    const kept = await open(await receiverToken(staying));

    await revokeInOrg(orgId, "client", revoked.clientId);
    await revokeInOrg(orgId, "subject", "u-later");
    await expect.poll(() => gone.seen.closed).toBe(1008);
    await expect.poll(() => kept.seen.values).toEqual([revoked.clientId, "u-later"]);
    expect(gone.seen.values).toEqual([]);
    kept.socket.close(1000, "done");
  });

  it("console: an org admin removed from the org stops receiving its revocations", async () => {
    const admin = await seedSession({ role: "admin" });
    const response = await exports.ConsoleAdmin.fetchAs(
      admin.token,
      new Request(`http://localhost${ENDPOINT.admin}/orgs/${admin.orgId}/revocations/stream`, { headers: SSE }),
    );
    expect(response.status).toBe(200);
    // What removing the member records (revocation/membership-revocation.ts, admin/member-changes.ts).
    await revokeInOrg(admin.orgId, "subject", admin.userId);
    await revokeInOrg(admin.orgId, "session", "s-after-the-admin-went");
    const { text, ended } = await drain(response);
    expect(ended).toBe(true);
    expect(text).not.toContain("s-after-the-admin-went");
  });
});
