// The body of POST /oauth2/register/<org> (RFC 7591 §3.1,
// workers/token/src/oidc/client-registration.ts) is read like every other
// body: under its 16 KiB cap as it arrives (413 past it, never the whole body
// buffered first), as UTF-8 (a byte that is not is refused, not stored as
// U+FFFD in the client's name), with well-formed strings (RFC 8259 §8.2).
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { clientAddress } from "../support/credential-limits.ts";
import { REDIRECT_URI } from "../support/runtime/browser-oidc.ts";
import { adminRequest } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { expectOAuthError, streamedBody } from "./fixtures.ts";
import { operatorToken } from "./mcp-access-fixtures.ts";

let orgId: string;
beforeAll(async () => {
  orgId = await createTestOrg();
  const opened = await adminRequest("PUT", `/orgs/${orgId}/client-registration`, {
    token: await operatorToken(),
    body: { dynamic_client_registration: true },
  });
  expect(opened.status).toBe(200);
});

function register(body: BodyInit, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`http://localhost${ENDPOINT.clientRegistration}/${orgId}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "cf-connecting-ip": clientAddress(), ...headers },
      body,
    }),
  );
}

const metadata = (name: string) =>
  `{"client_name":${name},"redirect_uris":["${REDIRECT_URI}"],"token_endpoint_auth_method":"none"}`;

describe("the client metadata body", () => {
  it("is 413 payload_too_large past 16 KiB, declared or streamed without a length", async () => {
    const declared = await register(`{"client_name":"${"a".repeat(64 * 1024)}"}`);
    const body = await expectOAuthError(declared, 413, "payload_too_large");
    expect(body.error_description).toBe("client metadata is at most 16384 bytes");
    await expectOAuthError(await register(streamedBody(1024 * 1024)), 413, "payload_too_large");
  });

  it("is 400 invalid_client_metadata when a byte is not UTF-8 (not U+FFFD in its name)", async () => {
    const [before = "", after = ""] = metadata('"x@"').split("@");
    const bytes = new Uint8Array([...new TextEncoder().encode(before), 0xff, ...new TextEncoder().encode(after)]);
    const response = await register(bytes);
    const body = await expectOAuthError(response, 400, "invalid_client_metadata");
    expect(body.error_description).toBe("the body is not UTF-8 JSON");
  });

  it("is 400 invalid_client_metadata for an unpaired surrogate, naming where", async () => {
    const response = await register(metadata('"\\ud800"'));
    const body = await expectOAuthError(response, 400, "invalid_client_metadata");
    expect(body.error_description).toBe(
      "$.client_name: not well-formed Unicode (an unpaired surrogate, RFC 8259 section 8.2)",
    );
  });

  // RFC 7591 §3.2.2 / RFC 6749 §5.2: the description is ASCII from %x20-21 / %x23-5B / %x5D-7E, also where it quotes the client.
  it("quotes a client's scope and member names with ? for anything outside RFC 6749 §5.2's set", async () => {
    const scope = await register(
      `{"client_name":"x","redirect_uris":["${REDIRECT_URI}"],"token_endpoint_auth_method":"none","scope":"openid \\"\u202e\u00e9\ud83d\ude00"}`,
    );
    const scoped = await expectOAuthError(scope, 400, "invalid_client_metadata");
    expect(scoped.error_description).toBe("unknown scope ????");
    const member = await register(`{"client_name":"x","\u00e9\\\"":"\\ud800"}`);
    const named = await expectOAuthError(member, 400, "invalid_client_metadata");
    expect(named.error_description).toBe("$.??: not well-formed Unicode (an unpaired surrogate, RFC 8259 section 8.2)");
    const types = await register(
      `{"client_name":"x","redirect_uris":["${REDIRECT_URI}"],"token_endpoint_auth_method":"none","response_types":["token"]}`,
    );
    const typed = await expectOAuthError(types, 400, "invalid_client_metadata");
    expect(typed.error_description).toBe("response_types must be [code] (RFC 9700 section 2.1.2)");
  });

  it("still registers a client whose name is any well-formed text", async () => {
    const response = await register(metadata('"Notes \\ud83d\\udcdd"'));
    expect(response.status).toBe(201);
    expect(((await response.json()) as { client_name: string }).client_name).toBe("Notes \u{1F4DD}");
  });
});
