// What a password sign-in costs, set against one bare hash of the same
// parameters. All the workerd figures are timed the same way, from this
// process, one request at a time and interleaved request by request, so
// their HTTP overhead is alike, they see the machine in the same state, and
// the ratio shows how much of a sign-in is the hash.
import { readdirSync, readFileSync } from "node:fs";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { BrowserLikeClient, httpOrigin } from "../../test/support/browser-like-client.ts";
import { type SoftKey, softAssertion } from "../../test/support/soft-authenticator.ts";
import { nextTotp } from "../../test/support/totp.ts";
import type { DevServer } from "./dev-server.ts";
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
  /**
   * The same without each side's round trip (sign-in minus `/api/auth/ok`,
   * hash minus the hash Worker's empty answer): the work alone, with the
   * gateway hop and the authn Worker's per-request cost left out. Null
   * without the `/ok` row.
   */
  signInWorkOverHashWork: number | null;
  /**
   * CPU per request of the workerd processes (the Workers, D1 and the
   * proxy in front of them), summed over the same interleaved requests: the
   * sign-in's and the hash's, and their ratio. CPU moves far less than
   * latency when other work shares the machine; on a quiet machine the
   * latency of one request at a time is close to it, since one workerd
   * thread runs every Worker of a system in turn. Null off Linux.
   */
  cpu: {
    signInMs: number;
    workerdHashMs: number;
    signInOverHash: number;
    /** The round trips' CPU (`/api/auth/ok` through the gateway; the hash Worker's empty answer). */
    authnRoundTripMs: number | null;
    workerdRoundTripMs: number | null;
    /** (sign-in − `/ok`) / (hash − empty answer): the work alone, in CPU. */
    workOverHashWork: number | null;
  } | null;
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
  system: DevServer,
  hashWorker: DevServer,
  count: number,
  user: { email: string; password: string },
): Promise<SignInResult> {
  const systemOrigin = system.origin;
  const hashOrigin = hashWorker.origin;
  // A fresh client each time: a sign-in without a session cookie, as after a browser restart.
  const signIn = async () => {
    await drain(
      await new BrowserLikeClient(httpOrigin(systemOrigin)).postJson("/api/auth/sign-in/email", user),
      "sign-in",
    );
  };
  const ok = async () => drain(await fetch(new URL("/api/auth/ok", systemOrigin)), "authn ok");
  const hash = async () => drain(await fetch(hashOrigin), "workerd hash");
  const noHash = async () => drain(await fetch(new URL("/?hash=0", hashOrigin)), "workerd round trip");
  // One warm-up call each, so no figure includes a cold isolate or first bundle load.
  await signIn();
  await hash();
  await noHash();
  const probe = await fetch(new URL("/api/auth/ok", systemOrigin));
  await probe.arrayBuffer();
  const steps: Step[] = [
    { name: "signIn", run: signIn, pgid: system.pgid },
    { name: "workerdHash", run: hash, pgid: hashWorker.pgid },
    ...(probe.status === 200 ? [{ name: "authnRoundTrip", run: ok, pgid: system.pgid }] : []),
    { name: "workerdRoundTrip", run: noHash, pgid: hashWorker.pgid },
  ];
  // Interleaved request by request, the order rotating, as part 2's
  // one-at-a-time latencies are: a sign-in and a hash then see the machine
  // in the same state within milliseconds, so their ratio holds when other
  // work on a shared machine comes and goes between them.
  const { times: timed, cpuMs } = await interleaved(steps, count);
  const signInSamples = timed.get("signIn") ?? [];
  const workerdHashSamples = timed.get("workerdHash") ?? [];
  const authnRoundTripMs = timed.has("authnRoundTrip") ? median(timed.get("authnRoundTrip") ?? []) : null;
  const workerdRoundTripMs = median(timed.get("workerdRoundTrip") ?? []);
  const cpuPer = (name: string) => {
    const total = cpuMs.get(name);
    return total === undefined ? null : total / count;
  };
  const [cpuSignIn, cpuHash, cpuOk, cpuEmpty] = [
    cpuPer("signIn"),
    cpuPer("workerdHash"),
    cpuPer("authnRoundTrip"),
    cpuPer("workerdRoundTrip"),
  ];
  const cpu =
    cpuSignIn !== null && cpuHash !== null
      ? {
          signInMs: cpuSignIn,
          workerdHashMs: cpuHash,
          signInOverHash: cpuSignIn / cpuHash,
          authnRoundTripMs: cpuOk,
          workerdRoundTripMs: cpuEmpty,
          workOverHashWork: cpuOk !== null && cpuEmpty !== null ? (cpuSignIn - cpuOk) / (cpuHash - cpuEmpty) : null,
        }
      : null;

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
    signInWorkOverHashWork:
      authnRoundTripMs === null ? null : (signInMs - authnRoundTripMs) / (workerdHashMs - workerdRoundTripMs),
    cpu,
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
      [
        "  the same, each without its round trip (work only)",
        result.signInWorkOverHashWork === null ? "n/a" : round(result.signInWorkOverHashWork, 2).toFixed(2),
      ],
      ["CPU per sign-in, workerd (same requests), mean", ms(result.cpu?.signInMs ?? null)],
      ["CPU per bare hash, workerd (same requests), mean", ms(result.cpu?.workerdHashMs ?? null)],
      ["CPU per round trip without work, workerd: authn /ok", ms(result.cpu?.authnRoundTripMs ?? null)],
      ["CPU per round trip without work, workerd: hash Worker", ms(result.cpu?.workerdRoundTripMs ?? null)],
      [
        "ratio of CPU, sign-in / bare hash",
        result.cpu === null ? "n/a" : round(result.cpu.signInOverHash, 2).toFixed(2),
      ],
      [
        "  the same, each without its round trip (work only)",
        result.cpu?.workOverHashWork == null ? "n/a" : round(result.cpu.workOverHashWork, 2).toFixed(2),
      ],
      ["TOTP: POST /api/auth/two-factor/verify-totp (after the password step)", ms(result.totpVerifyMs)],
      ["TOTP: whole sign-in (password step + verify-totp)", ms(result.totpSignInMs)],
      ["passkey: POST /api/auth/passkey/verify-authentication", ms(result.passkeyVerifyMs)],
      ["passkey: whole sign-in (authenticate options + verify)", ms(result.passkeySignInMs)],
    ],
  );
}

interface Step {
  name: string;
  run: () => Promise<void>;
  /** The `wrangler dev` that serves it: its workerd processes' CPU is charged to the step. */
  pgid: number;
}

/**
 * Nanoseconds on CPU so far of every thread of the workerd processes in a
 * process group (`/proc/<pid>/task/<tid>/schedstat`, nanosecond resolution:
 * one request's CPU is far below the 10 ms ticks of `/proc/<pid>/stat`).
 * Only workerd: the group's Node process and bundler poll the file system at
 * their own pace, whatever the requests. Null where /proc is missing.
 */
function workerdCpuNs(pgid: number): number | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  let ns = 0;
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const command = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      // proc(5): field 5 is the process group.
      if (command !== "workerd" || Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== pgid) continue;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      }
    } catch {
      // Exited meanwhile.
    }
  }
  return ns;
}

/**
 * `count` runs of each step, one at a time, the order rotating each turn;
 * per step its times in ms and, on Linux, the CPU its workerd spent during
 * its runs in total (ms).
 */
async function interleaved(
  steps: readonly Step[],
  count: number,
): Promise<{ times: Map<string, number[]>; cpuMs: Map<string, number> }> {
  const times = new Map<string, number[]>(steps.map((step) => [step.name, []]));
  const cpuMs = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const shift = i % steps.length;
    for (const step of [...steps.slice(shift), ...steps.slice(0, shift)]) {
      const cpuBefore = workerdCpuNs(step.pgid);
      const started = performance.now();
      await step.run();
      times.get(step.name)?.push(performance.now() - started);
      const cpuAfter = workerdCpuNs(step.pgid);
      if (cpuBefore !== null && cpuAfter !== null) {
        cpuMs.set(step.name, (cpuMs.get(step.name) ?? 0) + (cpuAfter - cpuBefore) / 1e6);
      }
    }
  }
  return { times, cpuMs };
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
