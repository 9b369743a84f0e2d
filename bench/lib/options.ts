// `npm run bench` options (bench/README.md, "Running").
import { parseArgs } from "node:util";

/** The bench's parts, in the order they run. */
export const PARTS = ["gateway", "tokens", "revocation", "sign-in", "bundles"] as const;
export type Part = (typeof PARTS)[number];

export interface Options {
  parts: readonly Part[];
  rounds: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  signIns: number;
  /** Requests per contestant timed one at a time in the tokens part. */
  sequential: number;
  /** Revoke → first refusal trials per bound in the revocation part. */
  trials: number;
  /** jti entries recorded for the revocation part's check-cost table (0: skip it). */
  revoked: number;
  /** WebSocket subscriber counts for the revocation part's fan-out table (none: skip it). */
  fanOut: number[];
  keepTemp: boolean;
}

function int(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${value}`);
  return n;
}

function parts(only: string | undefined, signInOnly: boolean, noSignIn: boolean, noTokens: boolean): Part[] {
  if (only !== undefined) {
    const named = only.split(",").map((p) => p.trim());
    for (const p of named) {
      if (!(PARTS as readonly string[]).includes(p))
        throw new Error(`--only: unknown part "${p}" (${PARTS.join(", ")})`);
    }
    return PARTS.filter((p) => named.includes(p));
  }
  if (signInOnly) return ["sign-in"];
  return PARTS.filter((p) => !(p === "sign-in" && noSignIn) && !(p === "tokens" && noTokens));
}

export function options(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      only: { type: "string" },
      rounds: { type: "string", default: "5" },
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "3" },
      connections: { type: "string", default: "10" },
      "sign-ins": { type: "string", default: "20" },
      sequential: { type: "string", default: "100" },
      trials: { type: "string", default: "100" },
      revoked: { type: "string", default: "100000" },
      fanout: { type: "string", default: "1,100,1000" },
      "sign-in-only": { type: "boolean", default: false },
      "no-sign-in": { type: "boolean", default: false },
      "no-tokens": { type: "boolean", default: false },
      "keep-temp": { type: "boolean", default: false },
    },
  });
  const chosen = parts(values.only, values["sign-in-only"], values["no-sign-in"], values["no-tokens"]);
  if (chosen.length === 0) throw new Error("no part of the bench left to run");
  return {
    parts: chosen,
    rounds: int("rounds", values.rounds),
    durationSeconds: int("duration", values.duration),
    warmupSeconds: int("warmup", values.warmup),
    connections: int("connections", values.connections),
    signIns: int("sign-ins", values["sign-ins"]),
    sequential: int("sequential", values.sequential),
    trials: int("trials", values.trials),
    revoked: int("revoked", values.revoked),
    fanOut: values.fanout === "" ? [] : values.fanout.split(",").map((n) => int("fanout", n.trim())),
    keepTemp: values["keep-temp"],
  };
}
