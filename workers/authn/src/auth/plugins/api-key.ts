import { apiKey } from "@better-auth/api-key";

/**
 * Keys owned by a person (`user`) or by an organization (`org`); Better Auth
 * stores only their hash and shows a key once, when it is created.
 */
export function apiKeyPlugin() {
  return apiKey([
    { configId: "user", references: "user", defaultPrefix: "mak_" },
    { configId: "org", references: "organization", defaultPrefix: "mao_" },
  ]);
}
