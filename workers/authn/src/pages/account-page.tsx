import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { ALL_SCOPES } from "../../../../shared/contracts/scopes.ts";
import { API_KEY_DEFAULT_DAYS, API_KEY_MAX_DAYS } from "../auth/plugins/api-key.ts";
import { ACCOUNT_PATH } from "./account-paths.ts";
import { ActionListHead, RowForm } from "./account-rows.tsx";
import { Layout } from "./layout.tsx";
import { OrganizationsSection, type OrganizationsSectionProps } from "./organizations-section.tsx";

export interface AccountSessionRow {
  id: string;
  createdAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ipAddress: string | null;
  current: boolean;
}

export interface AccountPasskeyRow {
  id: string;
  name: string;
  createdAt: Date | null;
}

export interface AccountKeyRow {
  id: string;
  configId: "user" | "org";
  name: string;
  start: string | null;
  scopes: string[];
  expiresAt: Date | null;
}

export interface AccountPageProps {
  nonce: string;
  user: { name: string; email: string; twoFactorEnabled: boolean };
  org: { id: string; name: string; role: string; managesKeys: boolean } | null;
  sessions: AccountSessionRow[];
  passkeys: AccountPasskeyRow[];
  keys: AccountKeyRow[];
  organizations: OrganizationsSectionProps;
  notice?: string;
  error?: string;
  /** A key just created: shown on this one page, never again. */
  createdKey?: { name: string; key: string };
}

const STYLE = `
  section { margin-top: 2rem; }
  h2 { font-size: 1.2rem; margin-bottom: .25rem; }
  form.inline { display: inline-flex; gap: .4rem; margin: 0; align-items: center; }
  form.inline input { padding: .3rem .4rem; }
  form.inline button, td button { padding: .3rem .7rem; }
  .notice { color: #1b7f3b; font-weight: 600; }
  .secret { display: block; padding: .6rem; border: 1px dashed #8888; border-radius: .4rem; word-break: break-all; }
  fieldset { border: 1px solid #8884; border-radius: .4rem; display: grid; gap: .25rem; }
  label.check { display: flex; gap: .4rem; font-weight: 400; align-items: center; }
  div.card { display: grid; gap: .5rem; max-width: 24rem; margin-top: 1rem; }
  div.card p { margin: 0; }
  select { font: inherit; padding: .5rem .6rem; border: 1px solid #8889; border-radius: .4rem; }
`;

function when(date: Date | null): string {
  return date ? new Date(date).toISOString().replace("T", " ").slice(0, 16) : "never";
}

/** The person's own account: sessions, passkeys, two-factor authentication, API keys. Forms only; WebAuthn is the one script. */
export function AccountPage(props: AccountPageProps) {
  return (
    <Layout title="Your account" nonce={props.nonce}>
      <style nonce={props.nonce}>{STYLE}</style>
      <h1>Your account</h1>
      <p class="muted">
        {props.user.name} · <span data-testid="user-email">{props.user.email}</span>
        {props.org ? (
          <>
            {" "}
            · {props.org.name} ({props.org.role})
          </>
        ) : null}{" "}
        · <a href={ENDPOINT.app}>Back to the app</a>
      </p>
      {props.notice ? (
        <p class="notice" role="status" data-testid="notice">
          {props.notice}
        </p>
      ) : null}
      {props.error ? (
        <p class="error" role="alert" data-testid="form-error">
          {props.error}
        </p>
      ) : null}

      <OrganizationsSection {...props.organizations} />

      <section aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">Sessions</h2>
        <table>
          <ActionListHead columns={["Started", "Device", "Address"]} />
          <tbody>
            {props.sessions.map((s) => (
              <tr data-testid="session-row">
                <td>{when(s.createdAt)}</td>
                <td>{(s.userAgent ?? "unknown").slice(0, 60)}</td>
                <td>{s.ipAddress ?? "unknown"}</td>
                <td>
                  {s.current ? (
                    <span class="muted">this session</span>
                  ) : (
                    <RowForm
                      action={ACCOUNT_PATH.revokeSession}
                      fields={{ id: s.id }}
                      label="End"
                      ariaLabel={`End the session started ${when(s.createdAt)}`}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="passkeys-heading">
        <h2 id="passkeys-heading">Passkeys</h2>
        {props.passkeys.length === 0 ? <p class="muted">No passkeys yet.</p> : null}
        <table>
          <tbody>
            {props.passkeys.map((p) => (
              <tr data-testid="passkey-row">
                <td>
                  <RowForm
                    action={ACCOUNT_PATH.renamePasskey}
                    fields={{ id: p.id }}
                    label="Rename"
                    ariaLabel={`Rename passkey ${p.name}`}
                  >
                    <input
                      name="name"
                      value={p.name}
                      maxlength={64}
                      required
                      aria-label={`Name of passkey ${p.name}`}
                    />
                  </RowForm>
                </td>
                <td>added {when(p.createdAt)}</td>
                <td>
                  <RowForm
                    action={ACCOUNT_PATH.deletePasskey}
                    fields={{ id: p.id }}
                    label="Delete"
                    ariaLabel={`Delete passkey ${p.name}`}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div class="card" data-webauthn="register">
          <label>
            Passkey name
            <input id="passkey-name" maxlength={64} value="My passkey" />
          </label>
          <p>
            <button id="passkey-register" type="button">
              Add a passkey
            </button>
          </p>
          <p id="passkey-status" role="status" class="muted" data-testid="passkey-status"></p>
        </div>
      </section>

      <section aria-labelledby="two-factor-heading">
        <h2 id="two-factor-heading">Two-factor authentication</h2>
        {props.user.twoFactorEnabled ? (
          <>
            <p data-testid="two-factor-state">On: sign-in asks for a code from your authenticator app.</p>
            <form class="card" method="post" action={ACCOUNT_PATH.disableTwoFactor}>
              <label>
                Password
                <input name="password" type="password" autocomplete="current-password" required maxlength={128} />
              </label>
              <button class="secondary" type="submit">
                Turn off two-factor authentication
              </button>
            </form>
          </>
        ) : (
          <>
            <p data-testid="two-factor-state">Off.</p>
            <form class="card" method="post" action={ACCOUNT_PATH.enableTwoFactor}>
              <label>
                Password
                <input name="password" type="password" autocomplete="current-password" required maxlength={128} />
              </label>
              <button type="submit">Set up two-factor authentication</button>
            </form>
          </>
        )}
      </section>

      <section aria-labelledby="keys-heading">
        <h2 id="keys-heading">API keys</h2>
        {props.createdKey ? (
          <div role="status">
            <p class="notice">Key “{props.createdKey.name}” created. Copy it now: it is shown only once.</p>
            <code class="secret" data-testid="created-key">
              {props.createdKey.key}
            </code>
          </div>
        ) : null}
        <table>
          <ActionListHead columns={["Name", "Owner", "Starts with", "Scopes", "Expires"]} />
          <tbody>
            {props.keys.map((k) => (
              <tr data-testid="key-row">
                <td>{k.name}</td>
                <td>{k.configId === "org" ? (props.org?.name ?? "organization") : "you"}</td>
                <td>
                  <code>{k.start ?? ""}…</code>
                </td>
                <td>{k.scopes.join(" ") || "none"}</td>
                <td>{when(k.expiresAt)}</td>
                <td>
                  <RowForm
                    action={ACCOUNT_PATH.revokeKey}
                    fields={{ id: k.id, owner: k.configId }}
                    label="Revoke"
                    ariaLabel={`Revoke key ${k.name}`}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form class="card" method="post" action={ACCOUNT_PATH.createKey}>
          <label>
            Key name
            <input name="name" required maxlength={64} />
          </label>
          {props.org?.managesKeys ? (
            <label>
              Owner
              <select name="owner">
                <option value="user">You</option>
                <option value="org">{props.org.name}</option>
              </select>
            </label>
          ) : (
            <input type="hidden" name="owner" value="user" />
          )}
          <fieldset>
            <legend>Scopes</legend>
            {[...ALL_SCOPES].map((scope) => (
              <label class="check">
                <input type="checkbox" name="scope" value={scope} /> {scope}
              </label>
            ))}
          </fieldset>
          <label>
            Expires after (days)
            <input
              name="days"
              type="number"
              min={1}
              max={API_KEY_MAX_DAYS}
              value={String(API_KEY_DEFAULT_DAYS)}
              required
            />
          </label>
          <button type="submit">Create key</button>
        </form>
      </section>
      <script nonce={props.nonce} src={ACCOUNT_PATH.webauthnScript} defer />
    </Layout>
  );
}
