import { describe, expect, it } from "vitest";
import { nextTotp } from "../support/totp.ts";
import { api, signUp } from "./helpers.ts";
import { enableTotp, passwordSignIn } from "./two-factor-flow.ts";

describe("a TOTP code under concurrency (RFC 6238 §5.2)", { timeout: 60_000 }, () => {
  it("signs in exactly one of several challenges that present the same code at once", async () => {
    const person = await signUp();
    const { secret } = await enableTotp(person.cookie);
    // Each challenge is its own password sign-in; an observed code is what they share.
    const challenges = await Promise.all(Array.from({ length: 5 }, () => passwordSignIn(person.email)));
    const code = await nextTotp(secret);
    const answers = await Promise.all(
      challenges.map((challenge) => api("/two-factor/verify-totp", { code }, { Cookie: challenge.cookie })),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 401, 401, 401, 401]);
    for (const answer of answers.filter((a) => a.status === 401)) {
      expect(((await answer.json()) as { code: string }).code).toBe("INVALID_CODE");
    }
  });
});

describe("a backup code under concurrency", { timeout: 60_000 }, () => {
  it("signs in exactly one of several challenges that present the same backup code at once", async () => {
    const person = await signUp();
    const { backupCodes } = await enableTotp(person.cookie);
    const code = backupCodes[0] ?? "";
    const challenges = await Promise.all(Array.from({ length: 5 }, () => passwordSignIn(person.email)));
    const answers = await Promise.all(
      challenges.map((challenge) => api("/two-factor/verify-backup-code", { code }, { Cookie: challenge.cookie })),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 401, 401, 401, 401]);
    for (const answer of answers.filter((a) => a.status === 401)) {
      expect(((await answer.json()) as { code: string }).code).toBe("INVALID_BACKUP_CODE");
    }
  });
});
