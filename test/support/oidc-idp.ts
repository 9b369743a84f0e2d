// An upstream OpenID Provider for SSO tests: the `oidc-provider` package (a
// certified OP, unmodified) on 127.0.0.1, in Node. Sign-in and consent are
// scripted: the person the test chose signs in and every requested scope is
// granted, as if they had typed their password and pressed "Allow".
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";

export interface IdpPerson {
  sub: string;
  email: string;
  name: string;
}

export interface IdpClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export class OidcIdp {
  /** http://127.0.0.1:PORT: also the OP's issuer identifier. */
  readonly issuer: string;
  private readonly server: Server;
  private readonly people = new Map<string, IdpPerson>();
  private provider: Provider | undefined;
  /** Who signs in at the next login prompt. */
  private nextPerson: IdpPerson | undefined;

  private constructor(server: Server) {
    this.server = server;
    this.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Listens first: the issuer (and so its origin, to trust) is known before the OP is configured. */
  static async listen(): Promise<OidcIdp> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const idp = new OidcIdp(server);
    server.on("request", (req, res) => {
      idp.handle(req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
    return idp;
  }

  /** Starts the OP with one confidential client (client_secret_basic, code + PKCE). */
  start(client: IdpClient): void {
    this.provider = new Provider(this.issuer, {
      clients: [
        {
          client_id: client.clientId,
          client_secret: client.clientSecret,
          redirect_uris: [client.redirectUri],
          grant_types: ["authorization_code"],
          response_types: ["code"],
          token_endpoint_auth_method: "client_secret_basic",
        },
      ],
      findAccount: (_ctx: unknown, sub: string) => {
        const person = this.people.get(sub);
        if (!person) return undefined;
        return {
          accountId: sub,
          claims: async () => ({ sub, email: person.email, email_verified: true, name: person.name }),
        };
      },
      claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
      features: { devInteractions: { enabled: false } },
      pkce: { required: () => true },
      cookies: { keys: ["oidc-idp-test-cookie-key-0123456789"] },
    });
  }

  /** The person who signs in next (added to the OP's accounts). */
  signInAs(person: IdpPerson): void {
    this.people.set(person.sub, person);
    this.nextPerson = person;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const provider = this.provider;
    if (!provider) throw new Error("the IdP has no client yet: call start()");
    if (!req.url?.startsWith("/interaction/")) {
      provider.callback()(req, res);
      return;
    }
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === "login") {
      const person = this.nextPerson;
      if (!person) throw new Error("nobody to sign in: call signInAs()");
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: person.sub } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    // Consent: grant what the relying party asked for.
    const accountId = details.session?.accountId;
    const clientId = details.params.client_id;
    if (!accountId || !clientId) throw new Error("consent without a session or client");
    const grant = new provider.Grant({ accountId, clientId });
    grant.addOIDCScope(details.params.scope ?? "openid");
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
}

/**
 * Follows a browser's redirects through the IdP (keeping its cookies) until
 * they lead back to `origin`; returns that URL (the relying party's callback).
 */
export async function followIdpRedirects(start: string, origin: string): Promise<string> {
  const cookies = new Map<string, string>();
  let next = start;
  for (let hop = 0; hop < 10; hop++) {
    if (next.startsWith(origin)) return next;
    const response = await fetch(next, {
      redirect: "manual",
      headers: { Cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = response.headers.get("location");
    if (!location) throw new Error(`the IdP stopped at ${next}: ${response.status} ${await response.text()}`);
    next = new URL(location, next).href;
  }
  throw new Error("too many redirects at the IdP");
}
