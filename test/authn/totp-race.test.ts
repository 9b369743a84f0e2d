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
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    // A loser that read the codes after the winner's write finds the code
    // gone (401); one that read them before loses the compare-and-swap on
    // them (409, "try again", which then finds it gone). Neither signs in.
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect([401, 409]).toContain(answer.status);
      const body = (await answer.json()) as { code?: string; message?: string };
      if (answer.status === 401) expect(body.code).toBe("INVALID_BACKUP_CODE");
      else expect(body.message).toBe("Failed to verify backup code. Please try again.");
      expect(answer.headers.getSetCookie().some((c) => c.includes("session_token=") && !/max-age=0/i.test(c))).toBe(
        false,
      );
    }
  });
});
