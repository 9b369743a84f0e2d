// Passkeys for in-runtime tests: a software credential
// (test/support/soft-authenticator.ts) stored as a registered passkey, as
// verify-registration would store it, and its assertions on this origin.
import { env } from "cloudflare:workers";
import { createSoftKey, type SoftKey, softAssertion } from "../support/soft-authenticator.ts";
import { ORIGIN } from "./helpers.ts";

export interface SoftCredential extends SoftKey {
  passkeyId: string;
}

export async function registerSoftPasskey(userId: string, name = "Soft key"): Promise<SoftCredential> {
  const key = await createSoftKey();
  const passkeyId = crypto.randomUUID();
  await env.DB.prepare(
    `INSERT INTO passkey (id, name, public_key, user_id, credential_id, counter, device_type, backed_up, transports, created_at)
     VALUES (?, ?, ?, ?, ?, 0, 'singleDevice', 0, 'internal', ?)`,
  )
    .bind(passkeyId, name, key.publicKey, userId, key.credentialId, Date.now())
    .run();
  return { ...key, passkeyId };
}

/** An assertion for `challenge` on this origin (see softAssertion). */
export function assertion(credential: SoftCredential, challenge: string, userVerified: boolean, counter = 1) {
  return softAssertion(credential, ORIGIN, challenge, userVerified, counter);
}
