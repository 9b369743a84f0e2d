import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { clientToken } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError, freshClientAddress, tokenRequest } from "./fixtures.ts";
import { authorization, OTHER_AUDIENCE, orgWithAgent } from "./token-exchange-fixtures.ts";

// RFC 8707 §2 and RFC 8693 §2.1 let a client name several targets by
// repeating `resource` (or `audience`). Every token here has one audience,
// so several are a target we cannot issue for, `invalid_target` (RFC 8707
// §2); any other parameter repeated is `invalid_request` (RFC 6749 §3.2).

/** A form with `name` sent once per value, after `base`. */
function withRepeated(base: Record<string, string>, name: string, values: string[]): URLSearchParams {
  const form = new URLSearchParams(base);
  for (const value of values) form.append(name, value);
  return form;
}

describe(`POST ${ENDPOINT.token}: a target named more than once`, () => {
  it("client_credentials: two resource or two audience values are invalid_target, even targets the client holds", async () => {
    const { agent } = await orgWithAgent();
    for (const name of ["resource", "audience"]) {
      const form = withRepeated({ grant_type: GRANT_TYPE.clientCredentials }, name, [AUDIENCE, OTHER_AUDIENCE]);
      const body = await expectOAuthError(
        await tokenRequest(form, { headers: authorization(agent) }),
        400,
        "invalid_target",
      );
      expect(body.error_description).toContain(name);
    }
  });

  it("token exchange: two resource or two audience values are invalid_target", async () => {
    const { agent } = await orgWithAgent();
    const base = {
      grant_type: GRANT_TYPE.tokenExchange,
      subject_token: await clientToken(agent),
      subject_token_type: TOKEN_TYPE.accessToken,
    };
    for (const name of ["resource", "audience"]) {
      await expectOAuthError(
        await tokenRequest(withRepeated(base, name, [AUDIENCE, OTHER_AUDIENCE]), { headers: authorization(agent) }),
        400,
        "invalid_target",
      );
    }
  });

  it("any other repeated parameter stays invalid_request (RFC 6749 §3.2)", async () => {
    const { agent } = await orgWithAgent();
    const form = withRepeated({ grant_type: GRANT_TYPE.clientCredentials, resource: AUDIENCE }, "scope", [
      "documents:read",
      "documents:read",
    ]);
    await expectOAuthError(await tokenRequest(form, { headers: authorization(agent) }), 400, "invalid_request");
  });
});

describe(`${ENDPOINT.revocation} and ${ENDPOINT.introspection}: no target parameters there`, () => {
  it("a repeated resource is as malformed as any repeated parameter: invalid_request", async () => {
    const { agent } = await orgWithAgent();
    const form = withRepeated({ token: await clientToken(agent) }, "resource", [AUDIENCE, OTHER_AUDIENCE]);
    for (const path of [ENDPOINT.revocation, ENDPOINT.introspection]) {
      const response = await exports.default.fetch(
        new Request(`http://localhost${path}`, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            "cf-connecting-ip": freshClientAddress(),
            ...authorization(agent),
          },
          body: form,
        }),
      );
      await expectOAuthError(response, 400, "invalid_request");
    }
  });
});
