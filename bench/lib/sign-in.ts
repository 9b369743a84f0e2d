// What a password sign-in costs, set against one bare hash of the same
// parameters. All three workerd figures are timed the same way, from this
// process, one request at a time, so their HTTP overhead is alike and the
// ratio shows how much of a sign-in is the hash.
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { BrowserLikeClient, httpOrigin } from "../../test/support/browser-like-client.ts";
import { type SoftKey, softAssertion } from "../../test/support/soft-authenticator.ts";
import { nextTotp } from "../../test/support/totp.ts";
import { hashOnce } from "./scrypt-params.ts";
import { enableTotp, registerPasskey, signedUpPerson } from "./sign-in-accounts.ts";
import { median, round, table, timeSequential } from "./stats.ts";

export interface SignInResult {
  count: number;
  signInMs: number;
  /** A cheap route on the same origin and Worker (Better Auth's /ok): the round trip alone. */
  authnRoundTripMs: number | null;
  workerdHashMs: number;
  workerdRoundTripMs: number;
  nodeHashMs: number;
  signInOverHash: number;
  /** A person with TOTP on: the password step, then `POST /two-factor/verify-totp` alone (p50). */
  totpVerifyMs: number;
  /** Both steps of that sign-in, password and code (p50). */
  totpSignInMs: number;
  /** A passkey sign-in, both requests: the options (challenge) and `POST /passkey/verify-authentication` (p50). */
  passkeySignInMs: number;
  /** `POST /passkey/verify-authentication` alone (p50). */
  passkeyVerifyMs: number;
  samples: {
    signInMs: number[];
    workerdHashMs: number[];
    nodeHashMs: number[];
    totpVerifyMs: number[];
    totpSignInMs: number[];
    passkeySignInMs: number[];
    passkeyVerifyMs: number[];
  };
}

async function drain(response: Response, step: string): Promise<void> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${step}: HTTP ${response.status} ${text.slice(0, 300)}`);
}

export async function measureSignIn(
  systemOrigin: string,
  hashOrigin: string,
  count: number,
  user: { email: string; password: string },
): Promise<SignInResult> {
  // One warm-up call each, so no figure includes a cold isolate or first bundle load.
  const signIn = async () => {
    // A fresh client each time: a sign-in without a session cookie, as after a browser restart.
    await drain(
      await new BrowserLikeClient(httpOrigin(systemOrigin)).postJson("/api/auth/sign-in/email", user),
      "sign-in",
    );
  };
  await signIn();
  const signInSamples = await timeSequential(count, signIn);

  let authnRoundTripMs: number | null = null;
  const ok = await fetch(new URL("/api/auth/ok", systemOrigin));
  await ok.arrayBuffer();
  if (ok.status === 200) {
    authnRoundTripMs = median(
      await timeSequential(count, async () => drain(await fetch(new URL("/api/auth/ok", systemOrigin)), "authn ok")),
    );
  }

  const hash = async () => drain(await fetch(hashOrigin), "workerd hash");
  const noHash = async () => drain(await fetch(new URL("/?hash=0", hashOrigin)), "workerd round trip");
  await hash();
  const workerdHashSamples = await timeSequential(count, hash);
  const workerdRoundTripMs = median(await timeSequential(count, noHash));

  await hashOnce();
  const nodeHashSamples = await timeSequential(count, hashOnce);

  const totpTimes = await measureTotp(systemOrigin, count, user.password);
  const passkeyTimes = await measurePasskey(systemOrigin, count, user.password);

  const signInMs = median(signInSamples);
  const workerdHashMs = median(workerdHashSamples);
  return {
    count,
    signInMs,
    authnRoundTripMs,
    workerdHashMs,
    workerdRoundTripMs,
    nodeHashMs: median(nodeHashSamples),
    signInOverHash: signInMs / workerdHashMs,
    totpVerifyMs: median(totpTimes.verify),
    totpSignInMs: median(totpTimes.whole),
    passkeySignInMs: median(passkeyTimes.whole),
    passkeyVerifyMs: median(passkeyTimes.verify),
    samples: {
      signInMs: signInSamples.map((v) => round(v)),
      workerdHashMs: workerdHashSamples.map((v) => round(v)),
      nodeHashMs: nodeHashSamples.map((v) => round(v)),
      totpVerifyMs: totpTimes.verify.map((v) => round(v)),
      totpSignInMs: totpTimes.whole.map((v) => round(v)),
      passkeySignInMs: passkeyTimes.whole.map((v) => round(v)),
      passkeyVerifyMs: passkeyTimes.verify.map((v) => round(v)),
    },
  };
}

export function formatSignIn(result: SignInResult): string {
  const ms = (v: number | null) => (v === null ? "n/a" : round(v, 1).toFixed(1));
  return table(
    ["sign-in vs bare hash (medians of " + String(result.count) + ", sequential)", "ms"],
    [
      ["POST /api/auth/sign-in/email (gateway → authn, workerd)", ms(result.signInMs)],
      ["GET /api/auth/ok, same path, no hash (round trip)", ms(result.authnRoundTripMs)],
      ["one bare scrypt hash in workerd (hash Worker, incl. round trip)", ms(result.workerdHashMs)],
      ["hash Worker without hashing (round trip)", ms(result.workerdRoundTripMs)],
      ["one bare scrypt hash in Node (node:crypto, in process)", ms(result.nodeHashMs)],
      ["ratio sign-in / bare hash (workerd)", round(result.signInOverHash, 2).toFixed(2)],
      ["TOTP: POST /api/auth/two-factor/verify-totp (after the password step)", ms(result.totpVerifyMs)],
      ["TOTP: whole sign-in (password step + verify-totp)", ms(result.totpSignInMs)],
      ["passkey: POST /api/auth/passkey/verify-authentication", ms(result.passkeyVerifyMs)],
      ["passkey: whole sign-in (authenticate options + verify)", ms(result.passkeySignInMs)],
    ],
  );
}

interface Timings {
  /** The second request alone. */
  verify: number[];
  /** Both requests. */
  whole: number[];
}

/**
 * A TOTP sign-in per sample, each by a person of its own: a code is accepted
 * once (RFC 6238 §5.2, auth/plugins/two-factor.ts), and one person has at
 * most three acceptable codes in a 30 s window, so `count` sign-ins in a few
 * seconds need `count` people (one more for the warm-up). Each sample: a
 * fresh client (no cookie), the password step (it answers
 * `twoFactorRedirect` and the challenge cookie), then the code computed here.
 */
async function measureTotp(origin: string, count: number, password: string): Promise<Timings> {
  const people = [];
  for (let i = 0; i <= count; i++) {
    const person = await signedUpPerson(origin, `bench-totp-${crypto.randomUUID()}@example.com`, password);
    people.push({ email: person.email, secret: await enableTotp(person) });
  }
  const timings: Timings = { verify: [], whole: [] };
  for (const [i, person] of people.entries()) {
    const client = new BrowserLikeClient(httpOrigin(origin));
    const started = performance.now();
    const step = await client.postJson(`${ENDPOINT.authApi}/sign-in/email`, { email: person.email, password });
    const body = (await step.json()) as { twoFactorRedirect?: boolean };
    if (step.status !== 200 || body.twoFactorRedirect !== true)
      throw new Error(`TOTP password step: HTTP ${step.status}, no twoFactorRedirect`);
    // The next step's code: the verifier's window takes it, and the current
    // step's may be the one spent turning TOTP on (refused as a replay).
    const code = await nextTotp(person.secret);
    const verifyStarted = performance.now();
    await drain(await client.postJson(`${ENDPOINT.authApi}/two-factor/verify-totp`, { code }), "verify-totp");
    const ended = performance.now();
    // The first is the warm-up.
    if (i === 0) continue;
    timings.verify.push(ended - verifyStarted);
    timings.whole.push(ended - started);
  }
  return timings;
}

/**
 * Passkey sign-ins by one person with a software passkey registered through
 * the plugin's ceremony: per sample a fresh client asks for the options
 * (the challenge and its cookie), signs an assertion (WebCrypto, outside
 * the timed requests' server work but inside the whole sign-in's time, as a
 * real authenticator's signature is) and posts it.
 */
async function measurePasskey(origin: string, count: number, password: string): Promise<Timings> {
  const person = await signedUpPerson(origin, `bench-passkey-${crypto.randomUUID()}@example.com`, password);
  const key: SoftKey = await registerPasskey(person, origin);
  let counter = 0;
  const timings: Timings = { verify: [], whole: [] };
  for (let i = 0; i <= count; i++) {
    const client = new BrowserLikeClient(httpOrigin(origin));
    const started = performance.now();
    const options = await client.request(`${ENDPOINT.authApi}/passkey/generate-authenticate-options`);
    const { challenge } = (await options.json()) as { challenge: string };
    if (options.status !== 200) throw new Error(`passkey options: HTTP ${options.status}`);
    counter += 1;
    const response = await softAssertion(key, origin, challenge, true, counter);
    const verifyStarted = performance.now();
    await drain(
      await client.postJson(`${ENDPOINT.authApi}/passkey/verify-authentication`, { response }),
      "passkey verify-authentication",
    );
    const ended = performance.now();
    if (i === 0) continue;
    timings.verify.push(ended - verifyStarted);
    timings.whole.push(ended - started);
  }
  return timings;
}
