import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RevocationChanges, RevocationStreamMessage } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";

async function newOrg(token: string): Promise<string> {
  const response = await adminRequest("POST", "/orgs", { token, body: { name: "Revoke Co" } });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe("admin API: operator revocation", () => {
  it("records each kind in the org's Durable Object before answering 201 with its seq", async () => {
    const token = await adminToken();
    const orgId = await newOrg(token);
    const kinds = [
      ["jti", "jti-1"],
      ["session", "sess-1"],
      ["subject", "user-1"],
      ["client", "mac_abc"],
    ] as const;
    for (const [index, [kind, value]] of kinds.entries()) {
      const response = await adminRequest("POST", `/orgs/${orgId}/revocations`, {
        token,
        body: { kind, value, reason: "incident 42" },
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ org_id: orgId, seq: index + 1, kind, value, reason: "incident 42" });
    }
    const all = await adminRequest("POST", `/orgs/${orgId}/revocations`, { token, body: { kind: "org" } });
    expect(all.status).toBe(201);
    expect(await all.json()).toMatchObject({ seq: 5, kind: "org", value: orgId, reason: "operator" });
    const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
    expect(snapshot.entries.map((e) => `${e.kind}:${e.value}`).sort()).toEqual(
      ["client:mac_abc", "jti:jti-1", `org:${orgId}`, "session:sess-1", "subject:user-1"].sort(),
    );
  });

  it("lists the events after a seq, and says resync for a position ahead of the org", async () => {
    const token = await adminToken();
    const orgId = await newOrg(token);
    for (const value of ["a", "b", "c"]) {
      await adminRequest("POST", `/orgs/${orgId}/revocations`, { token, body: { kind: "jti", value } });
    }
    const listed = await adminRequest("GET", `/orgs/${orgId}/revocations?after=1`, { token });
    expect(listed.status).toBe(200);
    const changes = (await listed.json()) as RevocationChanges;
    expect(changes).toMatchObject({ kind: "changes", version: 3, more: false });
    expect(changes.kind === "changes" && changes.events.map((e) => [e.seq, e.value])).toEqual([
      [2, "b"],
      [3, "c"],
    ]);
    const ahead = await adminRequest("GET", `/orgs/${orgId}/revocations?after=9`, { token });
    expect(await ahead.json()).toEqual({ kind: "resync", version: 3 });
  });

  it("refuses bad requests with their exact codes", async () => {
    const token = await adminToken();
    const orgId = await newOrg(token);
    const post = (body: unknown) => adminRequest("POST", `/orgs/${orgId}/revocations`, { token, body });
    await expectHttpError(await post({ kind: "user", value: "g" }), 400, "invalid_body");
    await expectHttpError(await post({ kind: "jti" }), 400, "invalid_body");
    await expectHttpError(await post({ kind: "jti", value: "" }), 400, "invalid_body");
    await expectHttpError(await post({ kind: "jti", value: "x".repeat(257) }), 400, "invalid_body");
    await expectHttpError(await post({ kind: "jti", value: "x", extra: 1 }), 400, "invalid_body");
    await expectHttpError(await post({ kind: "org", value: "another-org" }), 400, "invalid_body");
    await expectHttpError(
      await adminRequest("POST", `/orgs/${orgId}/revocations`, {
        token,
        body: "kind=jti",
        headers: { "Content-Type": "text/plain" },
      }),
      400,
      "invalid_body",
    );
    await expectHttpError(
      await adminRequest("GET", `/orgs/${orgId}/revocations?after=-1`, { token }),
      400,
      "invalid_query",
    );
    await expectHttpError(
      await adminRequest("POST", "/orgs/no-such-org/revocations", { token, body: { kind: "jti", value: "x" } }),
      404,
      "not_found",
    );
    await expectHttpError(
      await adminRequest("GET", "/orgs/no-such-org/revocations/stream", { token }),
      404,
      "not_found",
    );
    const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
    expect(snapshot.entries).toEqual([]);
  });

  it("refuses a caller without an operator token (RFC 6750) on every revocation route", async () => {
    const token = await adminToken();
    const orgId = await newOrg(token);
    for (const [method, path] of [
      ["POST", `/orgs/${orgId}/revocations`],
      ["GET", `/orgs/${orgId}/revocations`],
      ["GET", `/orgs/${orgId}/revocations/stream`],
    ] as const) {
      const response = await adminRequest(method, path, {
        body: method === "POST" ? { kind: "jti", value: "x" } : undefined,
      });
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    }
  });
});

describe("admin API: the revocation stream", () => {
  it("forwards a WebSocket upgrade to the org's object: backlog after ?after, then live events", async () => {
    const token = await adminToken();
    const orgId = await newOrg(token);
    await adminRequest("POST", `/orgs/${orgId}/revocations`, { token, body: { kind: "jti", value: "before" } });
    const response = await adminRequest("GET", `/orgs/${orgId}/revocations/stream?after=0`, {
      token,
      headers: { Upgrade: "websocket" },
    });
    expect(response.status).toBe(101);
    const socket = response.webSocket;
    if (!socket) throw new Error("no WebSocket");
    const messages: RevocationStreamMessage[] = [];
    socket.addEventListener("message", (event) => messages.push(JSON.parse(String(event.data))));
    socket.accept();
    await adminRequest("POST", `/orgs/${orgId}/revocations`, { token, body: { kind: "session", value: "after" } });
    await expect
      .poll(() => messages.map((m) => (m.type === "revocation" ? m.value : m.type)))
      .toEqual(["before", "after"]);
    socket.close(1000, "done");
  });

  it("serves SSE when asked with Accept: text/event-stream", async () => {
    const token = await adminToken();
    const orgId = await newOrg(token);
    await adminRequest("POST", `/orgs/${orgId}/revocations`, { token, body: { kind: "subject", value: "u1" } });
    const response = await adminRequest("GET", `/orgs/${orgId}/revocations/stream?after=0`, {
      token,
      headers: { Accept: "text/event-stream" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader?.read();
    expect(first?.value).toContain('"value":"u1"');
    await reader?.cancel();
  });
});
