// `mono-auth invite revoke <jti>` given the invite itself instead of its jti:
// the CLI refuses before it sends anything. An invite redeems until it is
// withdrawn; sent as the DELETE's path it would land whole in the token
// Worker's request log and in part in the audit trail, and the 404 that
// answered it would leave it redeemable.
import { describe, expect, it } from "vitest";
import { runCli } from "../support/mono-auth-cli.ts";
import { operatorProfile, recordingIssuer } from "../support/recording-issuer.ts";

const JTI = "0b6f1e2a-4c1d-4e8b-9a57-3f2d6c8e1a90";
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
// Shaped as an invite (header, claims, signature); only the CLI reads it.
const INVITE = `${base64url({ alg: "ES256", typ: "mono-invite+jwt" })}.${base64url({ jti: JTI, org_id: "org-1" })}.c2lnbmF0dXJl`;

const issuer = recordingIssuer();

describe("invite revoke <jti>", () => {
  it("refuses the invite itself, naming its jti, and sends nothing", async () => {
    const { dir, profile } = operatorProfile(issuer.origin, "revoke");
    const run = await runCli(
      ["invite", "revoke", INVITE, "--org", "org-1", "--url", issuer.origin, "--profile", profile],
      { cwd: dir },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `mono-auth: error: revoke takes the invite's jti, not the invite itself (nothing was sent): its jti is ${JTI}\n`,
    );
    expect(issuer.received).toEqual([]);
  });
});
