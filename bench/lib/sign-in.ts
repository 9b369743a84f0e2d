// What a password sign-in costs, set against one bare hash of the same
// parameters. All three workerd figures are timed the same way, from this
// process, one request at a time, so their HTTP overhead is alike and the
// ratio shows how much of a sign-in is the hash.
import { BrowserLikeClient, httpOrigin } from "../../test/support/browser-like-client.ts";
import { hashOnce } from "./scrypt-params.ts";
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
  samples: { signInMs: number[]; workerdHashMs: number[]; nodeHashMs: number[] };
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
    samples: {
      signInMs: signInSamples.map((v) => round(v)),
      workerdHashMs: workerdHashSamples.map((v) => round(v)),
      nodeHashMs: nodeHashSamples.map((v) => round(v)),
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
    ],
  );
}
