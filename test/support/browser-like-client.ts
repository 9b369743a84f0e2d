// A client that behaves like a browser on the one origin: it keeps cookies
// and sends an Origin header on state-changing requests (Better Auth's CSRF
// check requires it), and nothing else that a real browser would not send —
// except, when given one, the client address Cloudflare's edge would put in
// `cf-connecting-ip` (locally nothing sets it), so tests can stand for
// clients at different addresses.
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import type { RunningSystem } from "./system.ts";

/** What the client needs of a running system: its origin and a way to reach it. */
export type Origin = Pick<RunningSystem, "origin" | "fetch">;

/** Reaches an origin over real HTTP (for a system not started by the test harness). */
export function httpOrigin(origin: string): Origin {
  return { origin, fetch: (path, init) => fetch(new URL(path, origin), { redirect: "manual", ...init }) };
}

export class BrowserLikeClient {
  private readonly cookies = new Map<string, string>();
  // A plain field, not a parameter property: the benchmark runs this file
  // with Node's type stripping, which does not rewrite parameter properties.
  private readonly system: Origin;
  private readonly clientAddress: string | undefined;

  constructor(system: Origin, options: { clientAddress?: string } = {}) {
    this.system = system;
    this.clientAddress = options.clientAddress;
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("Cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    if (this.clientAddress) headers.set("cf-connecting-ip", this.clientAddress);
    if (init.method && init.method !== "GET") headers.set("Origin", this.system.origin);
    const response = await this.system.fetch(path, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  postJson(path: string, body: unknown): Promise<Response> {
    return this.request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  /** Signs up through Better Auth's API and creates (and activates) an organization. */
  async signUp(email: string, password = "correct horse battery staple"): Promise<{ userId: string; orgId: string }> {
    const signUp = await this.postJson("/api/auth/sign-up/email", { name: "Ada Lovelace", email, password });
    if (signUp.status !== 200) throw new Error(`sign-up failed: ${signUp.status} ${await signUp.text()}`);
    const { user } = (await signUp.json()) as { user: { id: string } };
    const slug = `org-${crypto.randomUUID().slice(0, 8)}`;
    const org = await this.postJson("/api/auth/organization/create", { name: "Analytical Engines", slug });
    if (org.status !== 200) throw new Error(`organization create failed: ${org.status} ${await org.text()}`);
    const { id: orgId } = (await org.json()) as { id: string };
    return { userId: user.id, orgId };
  }

  /** The session as Better Auth's get-session shows it to a page script: no raw token. */
  async session(): Promise<{ id: string; activeOrganizationId: string | null }> {
    const response = await this.request(`${ENDPOINT.authApi}/get-session`);
    const body = (await response.json()) as {
      session: { id: string; activeOrganizationId: string | null };
    } | null;
    if (!body) throw new Error("no session");
    return body.session;
  }

  /**
   * What the /app page does for an access token: POST /app/token from this
   * origin with the session cookie; the authn Worker exchanges the session
   * on the server (RFC 8693, through the token Worker).
   */
  exchangeSessionForToken(
    audience = `${this.system.origin}/api`,
    scope: string = SCOPE.documentsRead,
  ): Promise<Response> {
    return this.request(ENDPOINT.sessionToken, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ audience, scope }),
    });
  }
}
