import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { expectOAuthError, seedSession } from "./fixtures.ts";
import { atProvider, callback, createProvider, routeUpstream, startAsUser } from "./vault-fixtures.ts";

beforeEach(() => routeUpstream());
afterEach(() => vi.restoreAllMocks());

describe("the vault callback's error from the provider (RFC 6749 §4.1.2.1)", () => {
  it("repeats a well-formed error code, and no other text the provider chose: 502 connection_failed", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    const declined = await atProvider(await startAsUser(s, provider.name), { deny: "1" });
    const coded = await expectOAuthError(await callback(declined, s), 502, "connection_failed");
    expect(JSON.stringify(coded)).toContain("access_denied");
    // The provider (an org admin's choice) sends the person back with prose of its own as `error`.
    const started = await atProvider(await startAsUser(s, provider.name));
    const forged = new URL(started);
    forged.searchParams.delete("code");
    forged.searchParams.set("error", "Your account is locked. Call +1 555 0100 now");
    const refused = await expectOAuthError(await callback(forged, s), 502, "connection_failed");
    expect(JSON.stringify(refused)).not.toContain("Call +1");
  });
});
