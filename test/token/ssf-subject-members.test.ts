import { describe, expect, it } from "vitest";
import { expectOAuthError } from "./fixtures.ts";
import { createStream, receiverToken, registerReceiver, ssfRequest } from "./ssf-fixtures.ts";

/**
 * RFC 9493 §3.2 (and SSF 1.0 §3.2 for jwt_id and saml_assertion_id): each
 * subject identifier format names the members an identifier of it has. One
 * without them, or with a member its format does not describe, names no
 * subject any event can carry: a removal of it answered 204 excluded
 * nothing, while the receiver was told its subject was removed.
 */
describe("SSF subject identifiers (RFC 9493 §3.2)", () => {
  it("refuses an identifier without its format's members, or with others, 400 invalid_body", async () => {
    const token = await receiverToken(await registerReceiver());
    const streamId = await createStream(token);
    const malformed = [
      { format: "opaque" },
      { format: "iss_sub", iss: "https://idp.example" },
      { format: "email", emial: "alice@example.com" },
      { format: "jwt_id", jti: "a" },
      { format: "opaque", id: "x", sub: "y" },
      { format: "complex", session: { format: "opaque" } },
      { format: "complex", user: { format: "iss_sub", sub: "u" }, tenant: { format: "opaque", id: "t" } },
    ];
    for (const subject of malformed) {
      for (const path of ["/subjects/remove", "/subjects/add"]) {
        const refused = await expectOAuthError(
          await ssfRequest("POST", path, token, { stream_id: streamId, subject }),
          400,
          "invalid_body",
        );
        expect(refused.error_description, `${path} ${JSON.stringify(subject)}`).toMatch(/^subject/);
      }
    }
    const wellFormed = [
      { format: "opaque", id: "sess-1" },
      { format: "iss_sub", iss: "https://idp.example", sub: "u" },
      { format: "email", email: "alice@example.com" },
      { format: "jwt_id", iss: "https://idp.example", jti: "a" },
      { format: "saml_assertion_id", issuer: "https://idp.example", assertion_id: "a" },
      { format: "complex", user: { format: "iss_sub", iss: "https://idp.example", sub: "u" } },
    ];
    for (const subject of wellFormed) {
      const removed = await ssfRequest("POST", "/subjects/remove", token, { stream_id: streamId, subject });
      expect(removed.status, JSON.stringify(subject)).toBe(204);
      const added = await ssfRequest("POST", "/subjects/add", token, { stream_id: streamId, subject });
      expect(added.status, JSON.stringify(subject)).toBe(200);
    }
  });
});
