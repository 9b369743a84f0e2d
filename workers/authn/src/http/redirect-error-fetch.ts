/** Fetch §4.4 HTTP-redirect fetch: the statuses a redirect mode applies to. */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

let installed = false;

/**
 * workerd refuses `redirect: "error"` with a TypeError ("use manual and
 * check the status"), so any library call that asks for it fails before a
 * byte is sent: Better Auth's back-channel logout delivery (OIDC
 * Back-Channel Logout 1.0 §2.5, its `deliverBackchannelLogoutTokens`) is
 * one, and it POSTs every Logout Token that way. This gives the mode its
 * Fetch-standard meaning on top of `manual`: a redirect answer is a network
 * error (TypeError), its body discarded; any other answer is returned as
 * is. Every other call goes to the runtime's fetch untouched. Installed
 * once per isolate, by the Worker's entry module.
 */
export function supportRedirectErrorMode(): void {
  if (installed) return;
  installed = true;
  const runtimeFetch = globalThis.fetch;
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    if (init?.redirect !== "error") return runtimeFetch(input, init);
    const response = await runtimeFetch(input, { ...init, redirect: "manual" });
    if (!REDIRECT_STATUSES.has(response.status)) return response;
    await response.body?.cancel();
    throw new TypeError(`fetch refused a ${response.status} redirect (redirect mode "error")`);
  };
}
