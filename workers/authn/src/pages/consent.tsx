import { CONSENT_ORG_FIELD } from "../oidc/consent-org-binding.ts";
import { Layout } from "./layout.tsx";

export interface ConsentPageProps {
  nonce: string;
  clientName: string;
  clientId: string;
  scopes: readonly string[];
  /**
   * The RFC 8707 resources the tokens will be for (an MCP server's
   * `<issuer>/mcp/<name>`): the provider records consent per resource and
   * asks again for a new one, so the page must say which it is.
   */
  resources: readonly string[];
  orgName: string;
  /** The signed authorization request (Better Auth's `oauth_query`), posted back as is. */
  oauthQuery: string;
  /** The org shown, bound to that request (oidc/consent-org-binding.ts): an allow is for it alone. */
  consentOrg: string;
  /** Where the client gets the answer: shown so a person sees which site it goes to. */
  redirectHost: string;
}

/** What each scope lets the client do, in words a person can judge. */
const SCOPE_TEXT: Record<string, string> = {
  openid: "Know who you are (your account id)",
  profile: "See your name and picture",
  email: "See your email address",
  offline_access: "Stay connected when you are not using it (refresh tokens)",
  "documents:read": "Read the organization's documents",
  "ssf:manage": "Manage the organization's security event streams",
  "revocations:read": "Follow the organization's revocations",
};

/**
 * The OAuth consent page (the authn Worker's OpenID provider): which client,
 * which org, which scopes; approve or deny. A plain form, no script; the
 * post is checked for this origin and carries the signed request, so another
 * site can neither submit it nor change what it approves.
 */
export function ConsentPage(props: ConsentPageProps) {
  return (
    <Layout title="Allow access" nonce={props.nonce}>
      <h1>Allow {props.clientName} to access your account?</h1>
      <p class="muted">
        Client <code data-testid="consent-client-id">{props.clientId}</code> · returns to{" "}
        <code>{props.redirectHost}</code>
      </p>
      <p>
        For the organization <strong data-testid="consent-org">{props.orgName}</strong>, it asks to:
      </p>
      <ul data-testid="consent-scopes">
        {props.scopes.map((scope) => (
          <li>
            {SCOPE_TEXT[scope] ?? scope} <code class="muted">{scope}</code>
          </li>
        ))}
      </ul>
      {props.resources.length > 0 && (
        <>
          <p>To use at:</p>
          <ul data-testid="consent-resources">
            {props.resources.map((resource) => (
              <li>
                <code>{resource}</code>
              </li>
            ))}
          </ul>
        </>
      )}
      <form class="card" method="post" action="/consent">
        <input type="hidden" name="oauth_query" value={props.oauthQuery} />
        <input type="hidden" name={CONSENT_ORG_FIELD} value={props.consentOrg} />
        <button type="submit" name="accept" value="true" data-testid="consent-approve">
          Allow
        </button>
        <button type="submit" name="accept" value="false" class="secondary" data-testid="consent-deny">
          Deny
        </button>
      </form>
    </Layout>
  );
}

/** A consent request that cannot be shown (unknown client, tampered link). */
export function ConsentProblem(props: { nonce: string; message: string; code?: string }) {
  return (
    <Layout title="Cannot continue" nonce={props.nonce}>
      <h1>This request cannot continue</h1>
      <p class="error" role="alert" data-testid="form-error">
        {props.message}
      </p>
      {props.code ? (
        <p class="muted" data-testid="error-code">
          {props.code}
        </p>
      ) : null}
      <p>
        <a href="/app">Back to your account</a>
      </p>
    </Layout>
  );
}
