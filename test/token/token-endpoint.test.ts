import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT, REALM } from "../../shared/contracts/endpoints.ts";
import { FIRST_PARTY_CLIENT_ID, GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { MAX_TOKEN_REQUEST_BYTES } from "../../workers/token/src/http/read-form.ts";
import { anonymousRefusalsSince } from "../support/runtime/anonymous-refusal-rows.ts";
import { AUDIENCE, expectOAuthError, freshClientAddress, seedSession, streamedBody, tokenRequest } from "./fixtures.ts";

/** RFC 7523 §2.2 */
const JWT_CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** A request as the browser page used to send it: a session as subject_token. */
function sessionParams(token: string, extra: Record<string, string> = {}) {
  return {
    grant_type: GRANT_TYPE.tokenExchange,
    subject_token: token,
    subject_token_type: TOKEN_TYPE.session,
    audience: AUDIENCE,
    ...extra,
  };
}

/** A request the grant would take further if it were valid: the client and grant checks run. */
const EXCHANGE = {
  grant_type: GRANT_TYPE.tokenExchange,
  subject_token: "some-token",
  subject_token_type: TOKEN_TYPE.accessToken,
  audience: AUDIENCE,
};

/** A body of exactly `bytes` bytes that is a valid form. */
function formOfSize(bytes: number): string {
  const head = `grant_type=password&pad=`;
  return head + "a".repeat(bytes - head.length);
}

describe(`POST ${ENDPOINT.token}: a session is never a subject_token here`, () => {
  it("invalid_request for a session subject_token (RFC 8693 §2.2.2), and nothing is minted or bound", async () => {
    const s = await seedSession();
    for (const params of [sessionParams(s.token), sessionParams(s.token, { client_id: FIRST_PARTY_CLIENT_ID })]) {
      const response = await tokenRequest(params);
      await expectOAuthError(response, 400, "invalid_request");
    }
    const bound = await env.DB.prepare("SELECT 1 FROM session_org WHERE session_id = ?").bind(s.sessionId).all();
    expect(bound.results).toEqual([]);
  });

  it("invalid_request for any other subject_token_type, and for a missing subject_token (§2.1)", async () => {
    await expectOAuthError(
      await tokenRequest({ ...EXCHANGE, subject_token_type: "urn:example:unknown" }),
      400,
      "invalid_request",
    );
    await expectOAuthError(
      await tokenRequest({ ...EXCHANGE, subject_token_type: TOKEN_TYPE.jwt }),
      400,
      "invalid_request",
    );
    const { subject_token: _omitted, ...withoutSubject } = EXCHANGE;
    await expectOAuthError(await tokenRequest(withoutSubject), 400, "invalid_request");
  });
});

describe(`POST ${ENDPOINT.token}: the request (RFC 6749 §3.2)`, () => {
  it("invalid_request: not form-encoded, missing grant_type, repeated parameters, not UTF-8", async () => {
    await expectOAuthError(
      await tokenRequest(JSON.stringify(EXCHANGE), { contentType: "application/json" }),
      400,
      "invalid_request",
    );
    await expectOAuthError(await tokenRequest({ audience: AUDIENCE }), 400, "invalid_request");
    // A repeated target is invalid_target instead (repeated-targets.test.ts).
    const repeated = new URLSearchParams(EXCHANGE);
    repeated.append("subject_token_type", TOKEN_TYPE.accessToken);
    await expectOAuthError(await tokenRequest(repeated), 400, "invalid_request");
    const notUtf8 = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array([0x67, 0x3d, 0xff, 0xfe]));
        controller.close();
      },
    });
    await expectOAuthError(await tokenRequest(notUtf8), 400, "invalid_request");
  });

  it("unsupported_grant_type for grant types no handler serves", async () => {
    for (const grant_type of ["password", "urn:example:grant-type:unknown"]) {
      await expectOAuthError(
        await tokenRequest({ grant_type, username: "a", password: "b" }),
        400,
        "unsupported_grant_type",
      );
    }
  });

  it("405 with Allow: POST for other methods", async () => {
    const response = await exports.default.fetch(`http://localhost${ENDPOINT.token}`);
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("POST");
    expect(((await response.json()) as { error: string }).error).toBe("method_not_allowed");
  });
});

describe(`POST ${ENDPOINT.token}: body cap`, () => {
  it("413 payload_too_large for a streamed body over the cap, sent without Content-Length", async () => {
    const request = new Request(`http://localhost${ENDPOINT.token}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "cf-connecting-ip": freshClientAddress() },
      body: streamedBody(MAX_TOKEN_REQUEST_BYTES + 1),
    });
    expect(request.headers.get("Content-Length")).toBeNull();
    const response = await exports.default.fetch(request);
    expect(response.status).toBe(413);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(((await response.json()) as { error: string }).error).toBe("payload_too_large");
  });

  it("413 for a body much larger than the cap, and for a declared Content-Length over it", async () => {
    const huge = await tokenRequest(streamedBody(1024 * 1024, 64 * 1024));
    expect(huge.status).toBe(413);
    const declared = await tokenRequest(formOfSize(MAX_TOKEN_REQUEST_BYTES + 1));
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: string }).error).toBe("payload_too_large");
  });

  it("reads a body of exactly the cap, streamed or not", async () => {
    const exact = formOfSize(MAX_TOKEN_REQUEST_BYTES);
    await expectOAuthError(await tokenRequest(exact), 400, "unsupported_grant_type");
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder().encode(exact);
        controller.enqueue(bytes.slice(0, 5000));
        controller.enqueue(bytes.slice(5000));
        controller.close();
      },
    });
    await expectOAuthError(await tokenRequest(streamed), 400, "unsupported_grant_type");
  });
});

describe(`POST ${ENDPOINT.token}: client authentication (RFC 6749 §2.3)`, () => {
  const basic = `Basic ${btoa("client:secret")}`;

  it("invalid_request when a request uses more than one authentication method (§2.3.1)", async () => {
    await expectOAuthError(
      await tokenRequest(
        { ...EXCHANGE, client_id: "client", client_secret: "secret" },
        { headers: { Authorization: basic } },
      ),
      400,
      "invalid_request",
    );
    await expectOAuthError(
      await tokenRequest({
        ...EXCHANGE,
        client_id: "client",
        client_secret: "secret",
        client_assertion_type: JWT_CLIENT_ASSERTION,
        client_assertion: "a.b.c",
      }),
      400,
      "invalid_request",
    );
  });

  it("invalid_client (401, Basic challenge) for a method this endpoint does not accept", async () => {
    for (const [params, headers] of [
      [EXCHANGE, { Authorization: basic }],
      [{ ...EXCHANGE, client_id: "client", client_secret: "secret" }, {}],
      [
        {
          ...EXCHANGE,
          client_assertion_type: JWT_CLIENT_ASSERTION,
          client_assertion: "a.b.c",
        },
        {},
      ],
    ] as const) {
      const response = await tokenRequest(params, { headers });
      await expectOAuthError(response, 401, "invalid_client");
      expect(response.headers.get("WWW-Authenticate")).toBe(`Basic realm="${REALM}"`);
    }
  });

  it("invalid_client for a client_id nobody registered", async () => {
    await expectOAuthError(await tokenRequest({ ...EXCHANGE, client_id: "someone-else" }), 401, "invalid_client");
  });
});

describe(`POST ${ENDPOINT.token}: audit`, () => {
  it("records refusals, without what the client sent as a credential", async () => {
    const secret = `definitely-not-a-session-${crypto.randomUUID()}`;
    const sent = Date.now();
    await expectOAuthError(await tokenRequest(sessionParams(secret)), 400, "invalid_request");
    // This refusal's own row (earlier tests' invalid_request refusals, of any file, share the table),
    // so the check below runs once it has arrived.
    await expect
      .poll(async () => (await anonymousRefusalsSince("token.refused", sent, { error: "invalid_request" })).length)
      .toBeGreaterThan(0);
    const rows = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event").all<{ detail: string }>();
    expect(rows.results.some((r) => r.detail.includes(secret))).toBe(false);
  });
});
