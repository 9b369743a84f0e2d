// A secret pasted where an id belongs: `mono-auth scim token delete --id <the
// SCIM token itself>`, `client disable --id <a client secret>`, `revoke
// --client <a client secret>`. The CLI refuses before it sends anything. The
// secret works until it is deleted or rotated; sent, it would reach the
// token Worker's request log, and the 404 that answered it would leave it working.
import { describe, expect, it } from "vitest";
import { runCli } from "../support/mono-auth-cli.ts";
import { operatorProfile, recordingIssuer } from "../support/recording-issuer.ts";

const ID = `sct_${"A".repeat(22)}`;
const TOKEN = `${ID}.mas_${"b".repeat(43)}`;

const issuer = recordingIssuer();

describe("scim token delete --id", () => {
  it("refuses the token itself, naming its id, and sends nothing", async () => {
    const { dir, profile } = operatorProfile(issuer.origin, "scim-delete");
    const run = await runCli(
      ["scim", "token", "delete", "--id", TOKEN, "--org", "org-1", "--url", issuer.origin, "--profile", profile],
      { cwd: dir },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `mono-auth: error: --id takes the token's id, not the token itself (nothing was sent): its id is ${ID}\n`,
    );
    expect(issuer.received).toEqual([]);
  });

  it("client disable and revoke refuse a client secret where the client id belongs, and send nothing", async () => {
    const { dir, profile } = operatorProfile(issuer.origin, "client-secret");
    const secret = `mas_${"c".repeat(43)}`;
    const common = ["--org", "org-1", "--url", issuer.origin, "--profile", profile];
    for (const [argv, flag] of [
      [["client", "disable", "--id", secret], "--id"],
      [["client", "rotate", "--id", secret], "--id"],
      [["revoke", "--client", secret], "--client"],
    ] as const) {
      const run = await runCli([...argv, ...common], { cwd: dir });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toBe(`mono-auth: error: ${flag} takes an id, not a secret (nothing was sent)\n`);
    }
    expect(issuer.received).toEqual([]);
  });
});
