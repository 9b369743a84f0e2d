import { resolve } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { isLocalIssuer, normaliseIssuer } from "../../shared/config/issuer.ts";
import { remoteIssuer } from "./profile.ts";

/** The checkout the CLI runs from: the profile and wrangler's state live under it, whatever the cwd. */
export const CHECKOUT_ROOT = resolve(import.meta.dirname, "../..");

/** The local `npm start` origin (scripts/start.mjs). */
export const DEFAULT_URL = "http://localhost:8787";

/** Where `operator bootstrap` keeps operator credentials (mode 0600; .wrangler/ is gitignored). */
export const DEFAULT_PROFILE = resolve(CHECKOUT_ROOT, ".wrangler/mono-auth-cli.json");

/** The options every command takes. */
export interface CommonOptions {
  url: string;
  json: boolean;
  profile: string;
}

/**
 * Adds `--url`, `--json` and (for commands that act as the operator)
 * `--profile` to a leaf command, so each command's `--help` lists them.
 * `url` is normalised like the Workers' ISSUER (shared/config/issuer.ts),
 * so it names the same issuer. `urlDefault: null`: no default, the command
 * finds the URL itself.
 */
export function withCommonOptions(
  command: Command,
  options: { urlDefault?: string | null; profile?: boolean } = {},
): Command {
  const urlDefault = options.urlDefault === undefined ? DEFAULT_URL : (options.urlDefault ?? undefined);
  command
    .option("--url <url>", "the Mono-Auth origin, i.e. the issuer", parseUrl, urlDefault)
    .option("--json", "print exactly one JSON document on stdout and nothing else", false);
  if (options.profile === false) return command;
  command.option("--profile <file>", "the operator credentials file written by `operator bootstrap`", DEFAULT_PROFILE);
  // A command with a `--remote` of its own (operator bootstrap: the deployed D1) means the same account by it.
  if (!command.options.some((option) => option.long === "--remote")) {
    command.option(
      "--remote",
      "the deployed issuer `mono-auth init --url` saved in the profile, instead of --url",
      false,
    );
  }
  return command.hook("preAction", (self) => {
    const { remote, profile } = self.opts<{ remote?: boolean; profile: string }>();
    // An explicit --url names the deployed issuer itself (`operator bootstrap --remote --url …`).
    if (!remote || self.getOptionValueSource("url") === "cli") return;
    self.setOptionValue("url", remoteIssuer(profile));
  });
}

/** A commander parser for a whole number from 1 to `max` (a page size, a count). */
export function parsePositive(max: number) {
  return (value: string): number => {
    const n = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new InvalidArgumentError(`Use a whole number from 1 to ${max}.`);
    return n;
  };
}

export function parseUrl(value: string): string {
  let issuer: string;
  try {
    issuer = normaliseIssuer(value);
  } catch {
    throw new InvalidArgumentError("Must be an absolute http(s) URL with no query, fragment or credentials.");
  }
  // The CLI sends an operator's client secret there: never in clear text
  // but to the developer's own machine.
  if (issuer.startsWith("http:") && !isLocalIssuer(issuer)) {
    throw new InvalidArgumentError("Must be https (plain http only for localhost, 127.0.0.1 or [::1]).");
  }
  return issuer;
}

/** RFC 6749 §3.3 scope-token syntax: printable ASCII but space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** `--scopes "a b"`: space-separated scope tokens, at least one. */
export function parseScopes(value: string): string[] {
  const scopes = [...new Set(value.split(/\s+/).filter(Boolean))];
  if (scopes.length === 0) throw new InvalidArgumentError("Name at least one scope.");
  const bad = scopes.find((scope) => !SCOPE_TOKEN.test(scope));
  if (bad !== undefined) throw new InvalidArgumentError(`"${bad}" is not a scope token (RFC 6749 §3.3).`);
  return scopes;
}

/** `--audiences "u1 u2"`: space-separated absolute URIs (RFC 8707 §2 resources). */
export function parseAudiences(value: string): string[] {
  const audiences = [...new Set(value.split(/\s+/).filter(Boolean))];
  if (audiences.length === 0) throw new InvalidArgumentError("Name at least one audience.");
  for (const audience of audiences) {
    if (!URL.canParse(audience)) throw new InvalidArgumentError(`"${audience}" is not an absolute URI.`);
  }
  return audiences;
}

const DURATION = /^(\d{1,6})([smhd]?)$/;
const UNIT_SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** `--ttl 1h`: a whole number of seconds, minutes, hours or days (no unit: seconds). */
export function parseDuration(value: string): number {
  const match = DURATION.exec(value.trim());
  if (!match) throw new InvalidArgumentError("Use a whole number with an optional unit: 90s, 30m, 1h, 1d.");
  const seconds = Number(match[1]) * (UNIT_SECONDS[match[2] ?? ""] ?? 1);
  if (seconds <= 0) throw new InvalidArgumentError("Must be longer than zero.");
  return seconds;
}

/** Label keys: short identifiers, like Kubernetes label names. */
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;

/** `--label key=value`, repeatable: collected into one object. */
export function collectLabel(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf("=");
  const key = at < 0 ? "" : value.slice(0, at);
  if (!LABEL_KEY.test(key)) throw new InvalidArgumentError("Use key=value with a key of letters, digits, . _ / -.");
  return { ...previous, [key]: value.slice(at + 1) };
}
