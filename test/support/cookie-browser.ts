import type { RunningSystem } from "./system.ts";

/** A person in a browser without a browser: the cookies the system set, sent back, redirects not followed. */
export class CookieBrowser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly system: Pick<RunningSystem, "origin" | "fetch">) {}

  remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const at = pair.indexOf("=");
      this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  async get(url: string): Promise<Response> {
    const response = await fetch(url, { headers: { Cookie: this.header(), Accept: "text/html" }, redirect: "manual" });
    this.remember(response);
    return response;
  }

  /** A same-origin form post, as a page of the system sends it. */
  async post(path: string, fields: Record<string, string>): Promise<Response> {
    const response = await this.system.fetch(path, {
      method: "POST",
      headers: {
        Cookie: this.header(),
        Origin: this.system.origin,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams(fields),
    });
    this.remember(response);
    return response;
  }

  /** A same-origin JSON post (an empty object by default), as the app's script calls a Better Auth endpoint. */
  async postJson(path: string, body: Record<string, unknown> = {}): Promise<Response> {
    const response = await this.system.fetch(path, {
      method: "POST",
      headers: { Cookie: this.header(), Origin: this.system.origin, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    this.remember(response);
    return response;
  }
}
