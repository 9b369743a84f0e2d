import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseTokenConfig } from "../../workers/token/src/config.ts";

describe("token config", () => {
  it("refuses values that cannot be right, naming the var", () => {
    const bad: [string, string][] = [
      ["ACCESS_TOKEN_TTL_SECONDS", "29"],
      ["ACCESS_TOKEN_TTL_SECONDS", "3601"],
      ["ACCESS_TOKEN_TTL_SECONDS", "6e2"],
      ["ALLOWED_AUDIENCES", " "],
      ["KEY_ENCRYPTION_SECRET", "short"],
      ["DPOP_NONCE_REQUIRED", "yes"],
      ["SIGNING_KEY_ROTATION_SECONDS", "3600"],
      ["SIGNING_KEY_ROTATION_SECONDS", ""],
    ];
    for (const [name, value] of bad) {
      expect(() => parseTokenConfig({ ...env, [name]: value }), `${name}=${value}`).toThrow(name);
    }
  });

  it("reads the audiences as a whitespace-separated list", () => {
    const config = parseTokenConfig({ ...env, ALLOWED_AUDIENCES: " https://a.example/api\n https://b.example/api " });
    expect([...config.allowedAudiences]).toEqual(["https://a.example/api", "https://b.example/api"]);
    // The first is the default audience (admin/invites.ts: an invite that names none gets it only).
    expect(config.defaultAudience).toBe("https://a.example/api");
  });
});
