// Every authn request body is read under MAX_REQUEST_BODY_BYTES, with or
// without a Content-Length: 413 payload_too_large past it.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCIM_CONTENT_TYPE, SCIM_ERROR_SCHEMA } from "../../shared/errors/scim.ts";
import { ORIGIN, PASSWORD, uniqueEmail } from "./helpers.ts";

const MAX = Number(env.MAX_REQUEST_BODY_BYTES);

/** A body of `bytes` bytes sent as a stream: no Content-Length, as a chunked upload. */
function streamOf(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const chunk = new Uint8Array(Math.min(4096, bytes - sent)).fill(0x61);
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}

function post(path: string, body: BodyInit, type: string) {
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: "POST",
      headers: { "Content-Type": type, Origin: ORIGIN },
      body,
      // @ts-expect-error: workerd's RequestInit predates `duplex`; a stream body needs it in the standard.
      duplex: "half",
    }),
  );
}

async function expectTooLarge(response: Response) {
  expect(response.status).toBe(413);
  expect(await response.json()).toEqual({
    error: "payload_too_large",
    error_description: `request body larger than ${MAX} bytes`,
  });
}

describe("request bodies are capped", () => {
  it("refuses an oversized page form post, declared or streamed", async () => {
    const form = `email=${"a".repeat(MAX)}&password=x`;
    await expectTooLarge(await post("/sign-in", form, "application/x-www-form-urlencoded"));
    await expectTooLarge(await post("/sign-up", streamOf(MAX + 1), "application/x-www-form-urlencoded"));
  });

  it("refuses an oversized call to Better Auth's API, declared or streamed", async () => {
    const json = JSON.stringify({ email: uniqueEmail(), password: PASSWORD, pad: "a".repeat(MAX) });
    await expectTooLarge(await post("/api/auth/sign-in/email", json, "application/json"));
    await expectTooLarge(await post("/api/auth/sign-up/email", streamOf(MAX + 1), "application/json"));
  });

  it("refuses an oversized session exchange", async () => {
    await expectTooLarge(await post("/app/token", streamOf(MAX + 1), "application/x-www-form-urlencoded"));
  });

  it("refuses an oversized SCIM body in SCIM's error format (RFC 7644 §3.12), declared or streamed", async () => {
    for (const body of ["a".repeat(MAX + 1), streamOf(MAX + 1)]) {
      const response = await post(`${ENDPOINT.scim}/Users`, body, SCIM_CONTENT_TYPE);
      expect(response.status).toBe(413);
      expect(response.headers.get("Content-Type")).toBe(SCIM_CONTENT_TYPE);
      expect(await response.json()).toEqual({
        schemas: [SCIM_ERROR_SCHEMA],
        status: "413",
        detail: `request body larger than ${MAX} bytes`,
        error: "payload_too_large",
        error_description: `request body larger than ${MAX} bytes`,
      });
    }
  });

  it("passes a streamed body under the cap on to Better Auth intact", async () => {
    const body = new TextEncoder().encode(
      JSON.stringify({ name: "Streamed", email: uniqueEmail(), password: PASSWORD }),
    );
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body.slice(0, 10));
        controller.enqueue(body.slice(10));
        controller.close();
      },
    });
    const response = await post("/api/auth/sign-up/email", stream, "application/json");
    expect(response.status).toBe(200);
  });
});

describe("a GET or HEAD that claims a body (RFC 9110 §9.3.1, §9.3.2)", () => {
  // A Request cannot be built with a GET and a body, so the Worker is called through its own
  // default export: workerd hands a GET with a `Content-Length` over as one with a body stream,
  // as the gateway's service binding did before it dropped the header (workers/gateway/src/forward/proxy.ts).
  const framings: Record<string, string>[] = [
    { "Content-Length": "5" },
    { "Content-Length": String(MAX + 1) },
    { "Transfer-Encoding": "chunked" },
  ];

  it("is answered as without one: the page, Better Auth's API, never a 500", async () => {
    for (const framing of framings) {
      const label = JSON.stringify(framing);
      const page = await exports.default.fetch(`${ORIGIN}${ENDPOINT.signIn}`, { headers: framing });
      expect(page.status, label).toBe(200);
      expect(page.headers.get("Content-Type"), label).toContain("text/html");
      const head = await exports.default.fetch(`${ORIGIN}${ENDPOINT.signIn}`, { method: "HEAD", headers: framing });
      expect(head.status, label).toBe(200);
      const session = await exports.default.fetch(`${ORIGIN}${ENDPOINT.authApi}/get-session`, { headers: framing });
      expect(session.status, label).toBe(200);
      expect(await session.json(), label).toBeNull();
    }
  });

  it("leaves an unknown path claiming one 404 not_found", async () => {
    const missing = await exports.default.fetch(`${ORIGIN}/no-such-page`, { headers: { "Content-Length": "5" } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "not_found" });
  });
});
