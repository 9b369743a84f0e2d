// Better Auth's error page (/api/auth/error), where the authorization
// endpoint and the social and SSO callbacks send a browser they refused:
// it is on the issuer's origin, so it says nothing a link's author wrote.
import { describe, expect, it } from "vitest";
import { get } from "./helpers.ts";

const PROSE = "Your account is locked. Call +1 555 0100 to unlock it";

describe("the sign-in error page", () => {
  it("never shows a link's error_description, only a code, under the pages' headers: 400", async () => {
    const page = await get(
      `/api/auth/error?${new URLSearchParams({ error: "invalid_redirect", error_description: PROSE })}`,
    );
    expect(page.status).toBe(400);
    const html = await page.text();
    expect(html).not.toContain("Call +1 555 0100");
    expect(html).toContain("invalid_redirect");
    expect(page.headers.get("X-Frame-Options")).toBe("DENY");
    expect(page.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
  });

  it("names an error that is not a code as unknown", async () => {
    const page = await get(`/api/auth/error?${new URLSearchParams({ error: PROSE })}`);
    expect(page.status).toBe(400);
    const html = await page.text();
    expect(html).not.toContain("Call +1 555 0100");
    expect(html).toContain("unknown");
  });
});
