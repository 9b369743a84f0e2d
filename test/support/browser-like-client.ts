// A client that behaves like a browser on the one origin: it keeps cookies
// and sends an Origin header on state-changing requests (Better Auth's CSRF
// check requires it), and nothing else that a real browser would not send.
import { GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
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

  constructor(system: Origin) {
    this.system = system;
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("Cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
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

  async session(): Promise<{ token: string; id: string; activeOrganizationId: string | null }> {
    const response = await this.request("/api/auth/get-session");
    const body = (await response.json()) as {
      session: { token: string; id: string; activeOrganizationId: string | null };
    } | null;
    if (!body) throw new Error("no session");
    return body.session;
  }

  /** The session-to-token exchange (RFC 8693) the /app page performs. */
  async exchangeSessionForToken(audience = `${this.system.origin}/api`, scope = "documents:read"): Promise<Response> {
    const { token } = await this.session();
    return this.request("/oauth2/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: GRANT_TYPE.tokenExchange,
        subject_token: token,
        subject_token_type: TOKEN_TYPE.session,
        audience,
        scope,
      }),
    });
  }
}
