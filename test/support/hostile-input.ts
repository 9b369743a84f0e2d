import { expect } from "vitest";
import { percentDecodesToUtf8 } from "../../shared/http/form-encoding.ts";
import {
  DEEP,
  DEEP_FIELD,
  GARBAGE_AUTHORIZATION,
  GARBAGE_DPOP,
  HOSTILE_ENCODED,
  HOSTILE_PROOFS,
  HOSTILE_STRINGS,
  HOSTILE_TOKENS,
  HOSTILE_VALUES,
  KIB,
  OVER_CAP_BYTES,
  bytes,
  streamOf,
} from "./hostile-values.ts";

// The hostile-input sweep's catalogue (test/<worker>/hostile-input-sweep.test.ts):
// for one endpoint, every request a careless or hostile client sends that is
// not what the endpoint takes, and the checks each answer must pass. The bar
// (docs/endpoints.md, "Error shapes"): a clear 4xx, never a 500 for a
// client's mistake, never a stack trace or a secret in the answer.

export type BodyFormat = "json" | "form";

/**
 * The error format an endpoint answers in: `oauth` (RFC 6749 §5.2 JSON with
 * a string `error`, also shared/errors/http.ts and the admin API's problem
 * documents), `scim` (RFC 7644 §3.12), `page` (a server-rendered page or a
 * redirect: any shape but a fault).
 */
export type ErrorFormat = "oauth" | "scim" | "page";

export interface SweptEndpoint {
  method: string;
  /** Hono's syntax: `/orgs/:org/clients/:id`. */
  path: string;
  /** A plausible value for each `:param` (a random one when absent). */
  params?: Readonly<Record<string, string>>;
  /** Headers that get a request past authentication (absent: the endpoint takes none). */
  auth?: () => Record<string, string>;
  /** Headers every request carries (Origin, a fresh `cf-connecting-ip`), made once per request. */
  headers?: () => Record<string, string>;
  /** The body the endpoint takes; absent: none (hostile bodies are still sent). */
  body?: BodyFormat;
  /** The body's string fields, filled with hostile strings. */
  fields?: readonly string[];
  /** Fields every body keeps (e.g. `grant_type`), so a case reaches the grant's own parsing. */
  base?: Readonly<Record<string, string>>;
  /**
   * The endpoint refuses a body (of its own format) holding a string that is
   * not well-formed Unicode, rather than going on with something else than
   * what was sent: an unpaired surrogate in JSON (RFC 8259 §8.2:
   * shared/http/read-json.ts), an escape that is not UTF-8 in a form
   * (shared/http/form-encoding.ts).
   */
  refusesIllFormed?: boolean;
  /** The query parameters the endpoint reads. */
  query?: readonly string[];
  errors: ErrorFormat;
}

export interface HostileCase {
  name: string;
  request: Request;
  /** Any 2xx or 3xx is a fault: what was sent cannot be kept as sent. */
  mustRefuse?: boolean;
}

function fillPath(endpoint: SweptEndpoint, value?: string): string {
  // Hono's `:name` and `:name{regex}` (the regex may hold braces of its own).
  return endpoint.path.replace(/:([A-Za-z_]+)(?:\{(?:[^{}]|\{[^{}]*\})*\})?/g, (_, name: string) =>
    value !== undefined ? value : (endpoint.params?.[name] ?? `sweep-${crypto.randomUUID()}`),
  );
}

const formOf = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

/** Every case for one endpoint, as requests to `origin`. */
export function hostileCases(origin: string, endpoint: SweptEndpoint): HostileCase[] {
  const cases: HostileCase[] = [];
  const base = endpoint.base ?? {};
  const fields = endpoint.fields?.length ? endpoint.fields : ["name"];
  const takesBody = endpoint.method !== "GET" && endpoint.method !== "HEAD";
  const add = (
    name: string,
    init: {
      path?: string;
      search?: string;
      headers?: Record<string, string>;
      auth?: Record<string, string> | null;
      body?: BodyInit;
      contentType?: string | null;
      mustRefuse?: boolean;
    } = {},
  ) => {
    const headers = new Headers(endpoint.headers?.() ?? {});
    for (const [k, v] of Object.entries(init.auth === null ? {} : (init.auth ?? endpoint.auth?.() ?? {}))) {
      headers.set(k, v);
    }
    const contentType =
      init.contentType === undefined
        ? endpoint.body === "form"
          ? "application/x-www-form-urlencoded"
          : "application/json"
        : init.contentType;
    if (init.body !== undefined && contentType !== null) headers.set("Content-Type", contentType);
    for (const [k, v] of Object.entries(init.headers ?? {})) headers.set(k, v);
    const url = `${origin}${init.path ?? fillPath(endpoint)}${init.search ?? ""}`;
    cases.push({
      name: `${endpoint.method} ${endpoint.path}: ${name}`,
      request: new Request(url, {
        method: endpoint.method,
        headers,
        body: takesBody ? init.body : undefined,
        redirect: "manual",
      }),
      mustRefuse: init.mustRefuse,
    });
  };
  const validBody = (extra: Record<string, unknown> = {}): string =>
    endpoint.body === "form"
      ? formOf({
          ...base,
          ...Object.fromEntries(fields.map((f) => [f, "sweep"])),
          ...(extra as Record<string, string>),
        })
      : JSON.stringify({ ...base, ...Object.fromEntries(fields.map((f) => [f, "sweep"])), ...extra });

  // Path segments and query values: NUL, non-UTF-8, a lone surrogate, overlong.
  if (/:[A-Za-z_]/.test(endpoint.path)) {
    for (const v of [...HOSTILE_ENCODED, "a".repeat(8 * KIB), "%2e%2e%2f"]) {
      add(`path segment ${v.slice(0, 12)}`, { path: fillPath(endpoint, v), body: takesBody ? validBody() : undefined });
    }
  }
  const queryNames = [...(endpoint.query ?? []), "x"];
  for (const v of ["%00", "%ff", "%ED%A0%80", "a".repeat(8 * KIB)]) {
    add(`query value ${v.slice(0, 12)}`, {
      search: `?${queryNames.map((q) => `${q}=${v}`).join("&")}`,
      body: takesBody ? validBody() : undefined,
    });
  }
  // Numbers and times at and past their edges, for every parameter that parses one (limits, cursors, hours, from/to).
  for (const v of ["-1", "1e309", "99999999999999999999", "NaN", "0x1f", "%201", "+275760-09-13T00:00:00.001Z"]) {
    add(`query value ${v}`, { search: `?${queryNames.map((q) => `${q}=${v}`).join("&")}` });
  }
  add("query: each parameter twice", {
    search: `?${queryNames.flatMap((q) => [`${q}=a`, `${q}=b`]).join("&")}`,
    body: takesBody ? validBody() : undefined,
  });
  add("query: names without values", { search: `?${queryNames.join("&")}&=&&` });

  // Headers: overlong values, garbage credentials, a garbage DPoP proof.
  add("a 64 KiB header value", { headers: { "X-Sweep": "a".repeat(64 * KIB), "User-Agent": "u".repeat(16 * KIB) } });
  for (const authorization of GARBAGE_AUTHORIZATION) {
    add(`Authorization ${authorization.slice(0, 16)}`, {
      auth: { Authorization: authorization },
      body: takesBody ? validBody() : undefined,
    });
  }
  for (const dpop of GARBAGE_DPOP) {
    add(`DPoP header ${dpop.slice(0, 12)}`, { headers: { DPoP: dpop }, body: takesBody ? validBody() : undefined });
  }
  for (const [i, jwt] of HOSTILE_TOKENS.entries()) {
    add(`Bearer hostile JWS #${i}`, {
      auth: { Authorization: `Bearer ${jwt}` },
      body: takesBody ? validBody() : undefined,
    });
  }
  for (const [i, jwt] of HOSTILE_PROOFS.entries()) {
    add(`DPoP proof hostile JWS #${i}`, { headers: { DPoP: jwt }, body: takesBody ? validBody() : undefined });
  }
  if (endpoint.auth) {
    const token = (endpoint.auth().Authorization ?? "").replace(/^Bearer /, "");
    add("the token under the DPoP scheme without a proof", { auth: { Authorization: `DPoP ${token}` } });
    add("two Authorization values", { auth: { Authorization: `Bearer ${token}, Basic !!!` } });
  }

  if (!takesBody) return cases;

  // Bodies of the wrong shape, under the endpoint's own Content-Type.
  const json = (name: string, body: BodyInit) => add(`JSON ${name}`, { body, contentType: "application/json" });
  json("malformed", '{"a":');
  json("empty", "");
  json("array", "[]");
  json("string", '"x"');
  json("number", "1");
  json("null", "null");
  json("true", "true");
  json(`${DEEP} nested arrays`, `${"[".repeat(DEEP)}${"]".repeat(DEEP)}`);
  json(`${DEEP} nested objects`, `${'{"a":'.repeat(DEEP)}1${"}".repeat(DEEP)}`);
  json("with __proto__", `{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}`);
  json("a key twice", `{"${fields[0]}":"a","${fields[0]}":"b"}`);
  json("non-UTF-8 bytes in a string", bytes(`{"${fields[0]}":"`, [0xff, 0xfe, 0xc0, 0xaf], '"}'));
  for (const s of HOSTILE_STRINGS) {
    const label = JSON.stringify(s.slice(0, 6));
    add(`every field ${label}`, {
      mustRefuse: endpoint.refusesIllFormed === true && endpoint.body === "json" && !s.isWellFormed(),
      body:
        endpoint.body === "form"
          ? formOf({ ...base, ...Object.fromEntries(fields.map((f) => [f, s])) })
          : JSON.stringify({ ...base, ...Object.fromEntries(fields.map((f) => [f, s])) }),
    });
  }
  if (endpoint.refusesIllFormed && endpoint.body === "json") {
    // Each field alone, so no other field's check refuses the body first.
    for (const f of fields) {
      add(`${f} alone, an unpaired surrogate`, { mustRefuse: true, body: JSON.stringify({ ...base, [f]: "\ud800" }) });
    }
  }
  for (const [i, jwt] of HOSTILE_TOKENS.entries()) {
    const values = { ...base, ...Object.fromEntries(fields.map((f) => [f, jwt])) };
    add(`every field hostile JWS #${i}`, { body: endpoint.body === "form" ? formOf(values) : JSON.stringify(values) });
  }
  // Deep inside a field, where a recursive validator or compiler (a policy document) would walk it.
  for (const f of fields) {
    json(
      `${f} nested ${DEEP_FIELD} deep`,
      `{${Object.entries(base)
        .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`)
        .join("")}${JSON.stringify(f)}:${'{"a":['.repeat(DEEP_FIELD)}1${"]}".repeat(DEEP_FIELD)}}`,
    );
  }
  for (const v of HOSTILE_VALUES) {
    json(
      `every field ${JSON.stringify(v)}`,
      JSON.stringify({ ...base, ...Object.fromEntries(fields.map((f) => [f, v])) }),
    );
  }
  // Forms: encoded NUL, non-UTF-8, lone surrogates, and every parameter twice.
  for (const v of HOSTILE_ENCODED) {
    add(`form value ${v}`, {
      mustRefuse: endpoint.refusesIllFormed === true && endpoint.body === "form" && !percentDecodesToUtf8(v),
      body: [
        ...Object.entries(base).map(([k, b]) => `${k}=${encodeURIComponent(b)}`),
        ...fields.map((f) => `${f}=${v}`),
      ].join("&"),
      contentType: "application/x-www-form-urlencoded",
    });
  }
  add("form: every parameter twice", {
    body: [...Object.entries(base), ...fields.map((f) => [f, "a"])]
      .flatMap(([k, v]) => [`${k}=${encodeURIComponent(v ?? "")}`, `${k}=${encodeURIComponent(v ?? "")}b`])
      .join("&"),
    contentType: "application/x-www-form-urlencoded",
  });

  // The wrong Content-Type for the body, or none, or a multipart with a boundary that is not there.
  add("JSON under the form type", { body: validBody(), contentType: "application/x-www-form-urlencoded" });
  add("a form under the JSON type", { body: formOf({ ...base, a: "b" }), contentType: "application/json" });
  add("no Content-Type", { body: validBody(), contentType: null });
  add("text/plain", { body: validBody(), contentType: "text/plain" });
  add("multipart with a bogus boundary", {
    body: `--nope\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--nope--\r\n`,
    contentType: "multipart/form-data; boundary=----bogus",
  });
  add("multipart without a boundary", { body: "garbage", contentType: "multipart/form-data" });
  add("a charset that is not UTF-8", {
    body: validBody(),
    contentType: `${endpoint.body === "form" ? "application/x-www-form-urlencoded" : "application/json"}; charset=utf-16`,
  });

  // Over the cap: declared, and streamed without a length.
  add("256 KiB body", { body: "a".repeat(OVER_CAP_BYTES) });
  add("256 KiB body, no Content-Length", { body: streamOf(OVER_CAP_BYTES) });
  add("a Content-Length that lies", { body: validBody(), headers: { "Content-Length": "1" } });
  return cases;
}

/** What a stack trace, a source path or a thrown error's text looks like in an answer. */
const LEAK = [
  /\n\s+at /,
  /\bat [\w.$<>]+ \(/,
  /\.(?:ts|tsx|js|mjs):\d+/,
  /\b(?:Type|Reference|Syntax|Range)?Error:/,
  /node_modules|file:\/\/|\/workers\/|\/shared\//,
];

const TIMEOUT_MS = 15_000;

export interface Answer {
  status: number;
  body: string;
  /** RFC 9110 §11.6.1: every 401 names how to authenticate. */
  challenge?: string | null;
}

/** Sends one case and reads its answer (never a stream's: one that does not end fails the case). */
export async function send(fetcher: (r: Request) => Promise<Response>, c: HostileCase): Promise<Answer> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${c.name}: no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  try {
    const response = await Promise.race([fetcher(c.request), timeout]);
    // A stream (the revocation streams) is not read: its status is the answer.
    if (response.headers.get("Content-Type")?.startsWith("text/event-stream")) {
      await response.body?.cancel();
      return { status: response.status, body: "" };
    }
    const challenge = response.headers.get("WWW-Authenticate");
    return { status: response.status, body: await Promise.race([response.text(), timeout]), challenge };
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/**
 * The checks every answer passes: no 5xx, nothing of the runtime's or the
 * source's in the body, no secret, the endpoint's own error shape, and a
 * challenge with every 401.
 */
export function faultsOf(
  answer: Answer,
  format: ErrorFormat,
  secrets: readonly string[],
  mustRefuse = false,
): string[] {
  const faults: string[] = [];
  if (mustRefuse && answer.status < 400) faults.push("accepted a string that is not well-formed Unicode");
  if (answer.status >= 500) faults.push(`status ${answer.status}`);
  for (const pattern of LEAK) if (pattern.test(answer.body)) faults.push(`leak ${pattern}`);
  for (const secret of secrets) if (answer.body.includes(secret)) faults.push("a secret in the body");
  if (answer.status >= 400 && format !== "page") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      faults.push("error body is not JSON");
    }
    if (parsed !== undefined) {
      const body = parsed as Record<string, unknown>;
      if (format === "oauth" && typeof body.error !== "string") faults.push("no string `error`");
      // RFC 9110 §15.5.2 (RFC 6750 §3, RFC 7617 §2): a 401 names how to authenticate.
      if (answer.status === 401 && !answer.challenge) {
        faults.push("a 401 without WWW-Authenticate");
      }
      if (format === "scim" && (typeof body.detail !== "string" || !Array.isArray(body.schemas))) {
        faults.push("not an RFC 7644 error");
      }
    }
  }
  return faults;
}

/**
 * Fires every case of one endpoint at once and fails with every faulty
 * answer listed (case, status, the start of the body), not just the first.
 */
export async function sweep(
  fetcher: (r: Request) => Promise<Response>,
  origin: string,
  endpoint: SweptEndpoint,
  secrets: readonly string[] = [],
): Promise<number> {
  const cases = hostileCases(origin, endpoint);
  const answers = await Promise.all(
    cases.map(async (c) => {
      try {
        return { c, answer: await send(fetcher, c) };
      } catch (error) {
        return {
          c,
          answer: { status: 599, body: `thrown: ${error instanceof Error ? error.message : String(error)}` },
        };
      }
    }),
  );
  const faulty = answers.flatMap(({ c, answer }) => {
    const faults = faultsOf(answer, endpoint.errors, secrets, c.mustRefuse);
    return faults.length ? [`${c.name} -> ${answer.status} [${faults.join(", ")}] ${answer.body.slice(0, 300)}`] : [];
  });
  expect(faulty, faulty.join("\n")).toEqual([]);
  return cases.length;
}
