// A client address per test file, for files that share a running system
// (test/support/system.ts). Locally nothing sets `cf-connecting-ip`, so every
// request without one counts against the limits of one address, `ip:unknown`
// (shared/rate-limit/client-address.ts): the credential limiter's 30 password
// attempts a minute, the token endpoint's 300 requests, the sign-in
// throttle's 20 failures an hour. A file that started its own system started
// those counts at zero; a file that gets the system the file before it used
// would inherit that file's counts, and a run of files doing many sign-ups
// in one minute would be refused for what its neighbours did. So each file
// stands for a client of its own, as each would be behind Cloudflare's edge:
// what it sends to a shared system from this process (fetch) and from
// Chromium carries its own address, unless the request names one already
// (the tests of those limits pick theirs). The CLI's child processes still
// come from `ip:unknown`; they only reach the token endpoint, a few times a
// second at most.
import { expect } from "vitest";
import { FORWARDING_HEADER } from "../../shared/contracts/headers.ts";
import { clientAddress } from "./credential-limits.ts";

const addresses = new Map<string, string>();

/** The address of the test file running now in this vitest worker. */
export function fileClientAddress(): string {
  const file = expect.getState().testPath ?? "";
  let address = addresses.get(file);
  if (!address) {
    address = clientAddress();
    addresses.set(file, address);
  }
  return address;
}

const HEADER = FORWARDING_HEADER.connectingIp;
const origins = new Set<string>();
let installed = false;

/**
 * Sends every fetch from this process to `origin` (a shared system's front
 * door) with the running file's address, unless it names one. Global fetch
 * is what the tests, BrowserLikeClient and the clients we did not write
 * (openid-client, oauth4webapi, the MCP SDK) call.
 */
export function addressFetchesTo(origin: string): void {
  origins.add(new URL(origin).origin);
  if (installed) return;
  installed = true;
  const send = globalThis.fetch;
  globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (!origins.has(url.origin)) return send(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (headers.has(HEADER)) return send(input, init);
    headers.set(HEADER, fileClientAddress());
    return send(input, { ...init, headers });
  };
}

/** Chromium's context options with the running file's address, unless they name one. */
export function withFileAddress<O extends { extraHTTPHeaders?: Record<string, string> }>(options: O = {} as O): O {
  const given = options.extraHTTPHeaders ?? {};
  if (Object.keys(given).some((name) => name.toLowerCase() === HEADER)) return options;
  return { ...options, extraHTTPHeaders: { ...given, [HEADER]: fileClientAddress() } };
}
