import { CLIENT_ID_PREFIX } from "../contracts/tokens.ts";

/** 18 random bytes: 24 base64url characters, above the 22 (128 bits) a client id needs. */
const CLIENT_ID_RANDOM_BYTES = 18;

/** `mac_` then 22 or more base64url characters. */
const CLIENT_ID = new RegExp(`^${CLIENT_ID_PREFIX}[A-Za-z0-9_-]{22,128}$`);

/**
 * A new client id (CLIENT_ID_PREFIX + random base64url). Runs in workerd
 * and in Node (the CLI makes operator clients itself).
 */
export function generateClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(CLIENT_ID_RANDOM_BYTES));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `${CLIENT_ID_PREFIX}${btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`;
}

/** Whether a string has the shape of a registered client's id (no lookup needed otherwise). */
export function isClientId(value: string): boolean {
  return CLIENT_ID.test(value);
}
