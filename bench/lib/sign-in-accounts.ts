// The people the sign-in part signs in, set up as a person and an operator
// would, through the system's own endpoints: sign-up, the address confirmed
// from the dev mailbox when the deployment requires it (the bench turns
// REQUIRE_EMAIL_VERIFICATION on, production's default: lib/main.ts), TOTP
// turned on through Better Auth's API with a code computed here, a passkey
// registered through the WebAuthn ceremony with the software authenticator
// of the in-runtime tests. No row is written behind the Workers' backs.
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { BrowserLikeClient, httpOrigin } from "../../test/support/browser-like-client.ts";
import { b64url, createSoftKey, type SoftKey } from "../../test/support/soft-authenticator.ts";
import { secretFromOtpauthUri, totp } from "../../test/support/totp.ts";

export interface Person {
  email: string;
  password: string;
  /** Signed in (session cookie). */
  client: BrowserLikeClient;
  userId: string;
}

async function ok(response: Response, step: string): Promise<unknown> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${step}: HTTP ${response.status} ${text.slice(0, 300)}`);
  // The pages answer HTML; only Better Auth's API answers are read.
  return text && (response.headers.get("Content-Type") ?? "").includes("json") ? JSON.parse(text) : null;
}

/** The newest link of `kind` mailed to `email`, from the dev mailbox's JSON view (mail is sent after the answer). */
async function mailedLink(origin: string, email: string, kind: string): Promise<string> {
  for (let tries = 0; tries < 100; tries++) {
    const response = await fetch(new URL(`${ENDPOINT.devMailbox}?format=json&to=${encodeURIComponent(email)}`, origin));
    const { messages } = (await ok(response, "dev mailbox")) as { messages: { kind: string; text: string }[] };
    const link = messages.find((m) => m.kind === kind)?.text.match(/https?:\/\/\S+/)?.[0];
    if (link) return link;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`no ${kind} mail for ${email} in the dev mailbox`);
}

/**
 * Signs a person up, confirms the address from the dev mailbox if the
 * system asked for it (as the /verify-email page's button does), and signs
 * them in.
 */
export async function signedUpPerson(origin: string, email: string, password: string): Promise<Person> {
  const client = new BrowserLikeClient(httpOrigin(origin));
  const signUp = (await ok(
    await client.postJson(`${ENDPOINT.authApi}/sign-up/email`, { name: "Bench Person", email, password }),
    "sign-up",
  )) as { user: { id: string } };
  // Signed in at once unless the address must be confirmed first (the answer carries no token either way).
  const session = await ok(await client.request(`${ENDPOINT.authApi}/get-session`), "get-session");
  if (session === null) {
    const token = new URL(await mailedLink(origin, email, "verify-email")).searchParams.get("token");
    if (!token) throw new Error("verification mail without a token");
    const confirmed = await client.request(ENDPOINT.verifyEmail, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }),
    });
    await ok(confirmed, "verify-email");
    await ok(await client.postJson(`${ENDPOINT.authApi}/sign-in/email`, { email, password }), "first sign-in");
  }
  return { email, password, client, userId: signUp.user.id };
}

/** Creates an organization and makes it the session's active one (the gateway and token parts need one). */
export async function createOrganization(person: Person): Promise<string> {
  const slug = `org-${crypto.randomUUID().slice(0, 8)}`;
  const org = (await ok(
    await person.client.postJson(`${ENDPOINT.authApi}/organization/create`, { name: "Analytical Engines", slug }),
    "organization create",
  )) as { id: string };
  return org.id;
}

/** Turns TOTP on (enable with the password, then the first code); the base32 secret. */
export async function enableTotp(person: Person): Promise<string> {
  const { totpURI } = (await ok(
    await person.client.postJson(`${ENDPOINT.authApi}/two-factor/enable`, { password: person.password }),
    "two-factor enable",
  )) as { totpURI: string };
  const secret = secretFromOtpauthUri(totpURI);
  await ok(
    await person.client.postJson(`${ENDPOINT.authApi}/two-factor/verify-totp`, { code: await totp(secret) }),
    "two-factor first code",
  );
  return secret;
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(Buffer.from(text.replaceAll("-", "+").replaceAll("_", "/"), "base64"));
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** RFC 8949 §3: a text string's or byte string's head (major type, then the length). */
function cborHead(major: number, length: number): Uint8Array {
  if (length < 24) return new Uint8Array([(major << 5) | length]);
  if (length < 256) return new Uint8Array([(major << 5) | 24, length]);
  return new Uint8Array([(major << 5) | 25, length >> 8, length & 0xff]);
}

function cborText(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  return concat(cborHead(3, bytes.length), bytes);
}

/**
 * The attestation object of a `none` attestation (WebAuthn Level 3 §8.7,
 * §6.5.4): `{fmt: "none", attStmt: {}, authData}`, authData carrying the
 * attested credential data (§6.5.2: an all-zero AAGUID, the credential id,
 * its COSE_Key).
 */
async function noneAttestation(key: SoftKey, origin: string): Promise<Uint8Array<ArrayBuffer>> {
  const rpIdHash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(new URL(origin).hostname)),
  );
  const credentialId = fromBase64(key.credentialId);
  // UP | UV | AT (§6.1 bits 0, 2, 6); sign count 0.
  const authData = concat(
    rpIdHash,
    new Uint8Array([0x01 | 0x04 | 0x40, 0, 0, 0, 0]),
    new Uint8Array(16),
    new Uint8Array([credentialId.length >> 8, credentialId.length & 0xff]),
    credentialId,
    fromBase64(key.publicKey),
  );
  return concat(
    new Uint8Array([0xa3]),
    cborText("fmt"),
    cborText("none"),
    cborText("attStmt"),
    new Uint8Array([0xa0]),
    cborText("authData"),
    cborHead(2, authData.length),
    authData,
  );
}

/** Registers a software passkey for the signed-in person through the plugin's registration ceremony. */
export async function registerPasskey(person: Person, origin: string): Promise<SoftKey> {
  const key = await createSoftKey();
  const options = (await ok(
    await person.client.request(`${ENDPOINT.authApi}/passkey/generate-register-options`),
    "passkey register options",
  )) as { challenge: string };
  const clientData = new TextEncoder().encode(
    JSON.stringify({ type: "webauthn.create", challenge: options.challenge, origin }),
  );
  await ok(
    await person.client.postJson(`${ENDPOINT.authApi}/passkey/verify-registration`, {
      name: "Bench soft key",
      response: {
        id: key.credentialId,
        rawId: key.credentialId,
        type: "public-key",
        authenticatorAttachment: "platform",
        clientExtensionResults: {},
        response: {
          clientDataJSON: b64url(clientData),
          attestationObject: b64url(await noneAttestation(key, origin)),
          transports: ["internal"],
        },
      },
    }),
    "passkey verify-registration",
  );
  return key;
}
