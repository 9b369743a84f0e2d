// Userinfo's revocation check (workers/authn/src/oidc/userinfo-revocation.ts)
// and a form body that repeats `access_token`. Better Auth's form reader keeps
// the last value; the check read only the first, so a decoy before a revoked
// token let the revoked one read the person's claims (200). A repeated
// parameter is RFC 6750 §3.1 `400 invalid_request`, whichever value comes
// first. The token is the provider's own (real authorize, consent and token
// endpoints), revoked in the real org object beside this Worker.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { oidc } from "./oidc-helpers.ts";
import { opaqueAccessToken, type Person, userinfoByForm } from "./userinfo-helpers.ts";

const REPEATED_CHALLENGE =
  'Bearer realm="mono-auth", error="invalid_request", error_description="access_token must not be repeated"';
const REVOKED_CHALLENGE =
  'Bearer realm="mono-auth", error="invalid_token", error_description="ERR_TOKEN_REVOKED: token revoked"';

async function revokeSubject(person: Person): Promise<void> {
  await env.ORG_STATE.getByName(orgStateName(person.orgId)).revoke({
    orgId: person.orgId,
    kind: "subject",
    value: person.userId,
    reason: "test",
  });
}

describe("userinfo and a form that repeats access_token", { timeout: 60_000 }, () => {
  it("is 400 invalid_request whichever value comes first; a decoy never lets a revoked token read claims", async () => {
    const person = await oidc.signUp();
    const revoked = await opaqueAccessToken(person);
    const other = await oidc.signUp();
    const live = await opaqueAccessToken(other);
    expect((await userinfoByForm(`access_token=${revoked}`)).status).toBe(200);
    await revokeSubject(person);

    const alone = await userinfoByForm(`access_token=${revoked}`);
    expect(alone.status).toBe(401);
    expect(alone.headers.get("WWW-Authenticate")).toBe(REVOKED_CHALLENGE);

    for (const body of [
      `access_token=decoy&access_token=${revoked}`,
      `access_token=${live}&access_token=${revoked}`,
      `access_token=${revoked}&access_token=${live}`,
      `access_token=${live}&access_token=${live}`,
    ]) {
      const response = await userinfoByForm(body);
      expect(response.status, body).toBe(400);
      expect(response.headers.get("WWW-Authenticate")).toBe(REPEATED_CHALLENGE);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({
        error: "invalid_request",
        error_description: "access_token must not be repeated",
      });
      expect(text).not.toContain(person.email);
    }
    // One token, once: still read.
    expect((await userinfoByForm(`access_token=${live}`)).status).toBe(200);
  });
});
