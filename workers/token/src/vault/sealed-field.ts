import { base64url } from "jose";
import { VaultError } from "./errors.ts";

const IV_BYTES = 12;

/**
 * Where a sealed value lives. It is the AES-GCM associated data (NIST SP
 * 800-38D §5.2.1.1), so a ciphertext decrypts only in the org, table, row
 * and column it was sealed for: copied anywhere else, it fails as if forged.
 */
export interface FieldPlace {
  orgId: string;
  table: string;
  rowId: string;
  column: string;
}

function aad(place: FieldPlace) {
  return new TextEncoder().encode(
    ["mono-auth vault field v1", place.orgId, place.table, place.rowId, place.column].join("\u0000"),
  );
}

/** `base64url(iv ‖ AES-256-GCM ciphertext ‖ tag)` of the value, under the org's data key. */
export async function sealField(key: CryptoKey, place: FieldPlace, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad(place) },
      key,
      new TextEncoder().encode(plaintext),
    ),
  );
  const out = new Uint8Array(IV_BYTES + sealed.length);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return base64url.encode(out);
}

export async function openField(key: CryptoKey, place: FieldPlace, sealed: string): Promise<string> {
  try {
    const bytes = base64url.decode(sealed);
    const plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.slice(0, IV_BYTES), additionalData: aad(place) },
      key,
      bytes.slice(IV_BYTES),
    );
    return new TextDecoder().decode(plaintext);
  } catch {
    throw new VaultError(
      "ERR_VAULT_DECRYPT",
      `${place.table}.${place.column} of ${place.rowId} does not open under org ${place.orgId}'s key`,
    );
  }
}
