import { describe, expect, it } from "vitest";
import { liveCode } from "../../workers/authn/src/oidc/live-code-client.ts";
import { planOfStatement, recordingDb, type SentStatement } from "../support/runtime/query-plans.ts";

// Every code grant reads its code's live row before Better Auth is handed it (twice: the token Worker's
// pre-check, then inside the code's turn; workers/authn/src/oidc/live-code-checks.ts), whoever sends it,
// so the read must seek Better Auth's `verification` rows by their identifier, never scan them: the table
// holds every live code, email verification and reset of the deployment.

describe("a live code's read", () => {
  it("is one statement seeking verification_identifier_idx, never a scan", async () => {
    const sent: SentStatement[] = [];
    expect(await liveCode(recordingDb(sent), "no-such-code")).toBeUndefined();
    expect(sent).toHaveLength(1);
    const plan = await planOfStatement(sent[0] as SentStatement);
    expect(plan, plan).toMatch(/SEARCH verification USING INDEX verification_identifier_idx \(identifier=\?\)/);
    expect(plan, plan).not.toMatch(/SCAN verification/);
  });
});
