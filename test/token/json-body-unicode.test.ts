// RFC 8259 §8.2 at the token Worker's JSON APIs (shared/http/read-json.ts):
// `"\ud800"` is valid JSON but no Unicode text, and D1 keeps U+FFFD in its
// place. Such a body was accepted and answered with the string as sent while
// the row held "\ufffd\ufffd\ufffd": what the caller was told was stored was
// not. It is now 400 invalid_body, naming where, and nothing is stored; a
// surrogate pair (an emoji, escaped) is text and round-trips.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { AGENT_API } from "../../shared/contracts/mcp.ts";
import { SSF_PATH } from "../../shared/contracts/ssf.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";
import { setup } from "./mcp-access-fixtures.ts";
import { receiverToken, registerReceiver, ssfRequest } from "./ssf-fixtures.ts";

const UNPAIRED = '"\\ud800"';
const REVERSED = '"\\udfff\\ud800"';

describe("a JSON body with an unpaired surrogate", () => {
  it("admin API: 400 invalid_body naming the field, and no SCIM token is made", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    for (const raw of [UNPAIRED, REVERSED]) {
      const response = await adminRequest("POST", `/orgs/${orgId}/scim-tokens`, {
        token,
        body: `{"description":${raw}}`,
      });
      const body = await expectHttpError(response, 400, "invalid_body");
      expect(body.error_description).toBe(
        "$.description: not well-formed Unicode (an unpaired surrogate, RFC 8259 §8.2)",
      );
    }
    const listed = (await (await adminRequest("GET", `/orgs/${orgId}/scim-tokens`, { token })).json()) as {
      scim_tokens: unknown[];
    };
    expect(listed.scim_tokens.length).toBe(0);
  });

  it("admin API: in a member name, or deep in an array, too", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const named = await adminRequest("POST", `/orgs/${orgId}/scim-tokens`, { token, body: `{${UNPAIRED}:"x"}` });
    // toWellFormed: a failure's diff must not carry an unpaired surrogate to the reporter.
    expect((await expectHttpError(named, 400, "invalid_body")).error_description.toWellFormed()).toMatch(
      /^\$: not well-formed/,
    );
    const deep = await adminRequest("PUT", `/orgs/${orgId}/token-policy`, {
      token,
      body: `{"scope_ceiling":["documents:read",${UNPAIRED}]}`,
    });
    expect((await expectHttpError(deep, 400, "invalid_body")).error_description).toMatch(
      /^\$\.scope_ceiling\[1\]: not well-formed/,
    );
  });

  it("admin API: a surrogate pair is text, stored and answered as sent", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const response = await adminRequest("POST", `/orgs/${orgId}/scim-tokens`, {
      token,
      body: '{"description":"directory \\ud83d\\ude00"}',
    });
    expect(response.status).toBe(201);
    const listed = (await (await adminRequest("GET", `/orgs/${orgId}/scim-tokens`, { token })).json()) as {
      scim_tokens: { description: string }[];
    };
    expect(listed.scim_tokens.map((t) => t.description)).toEqual(["directory \u{1F600}"]);
  });

  it("agent API: 400 invalid_body", async () => {
    const { token } = await setup();
    const refused = await rawJson(
      AGENT_API.accessRequests,
      token,
      `{"server":"demo","tools":["purge_documents"],"reason":${UNPAIRED}}`,
    );
    const body = await expectOAuthError(refused, 400, "invalid_body");
    expect(body.error_description).toBe("$.reason: not well-formed Unicode (an unpaired surrogate, RFC 8259 §8.2)");
  });

  it("SSF transmitter: 400 invalid_body, and no stream is made", async () => {
    const token = await receiverToken(await registerReceiver());
    const refused = await rawJson(`${ENDPOINT.ssf}${SSF_PATH.streams}`, token, `{"description":${UNPAIRED}}`);
    const body = await expectOAuthError(refused, 400, "invalid_body");
    expect(body.error_description).toMatch(/^\$\.description: not well-formed/);
    const streams = await ssfRequest("GET", SSF_PATH.streams, token);
    expect(streams.status).toBe(200);
    // A count, not the list: a failure's diff must not carry the unpaired surrogate to the reporter.
    expect(((await streams.json()) as unknown[]).length).toBe(0);
  });
});

/** A POST with the JSON text as written (JSON.stringify never writes an unpaired surrogate escape). */
function rawJson(path: string, token: string, body: string): Promise<Response> {
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body,
    }),
  );
}
