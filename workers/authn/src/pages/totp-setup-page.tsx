import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { qrSvg } from "../two-factor/qr-code.ts";
import { ACCOUNT_PATH } from "./account-paths.ts";
import { Layout } from "./layout.tsx";

export interface TotpSetupPageProps {
  nonce: string;
  /** The otpauth:// URI (Key URI Format) an authenticator app imports. */
  totpUri: string;
  backupCodes: string[];
  error?: string;
}

/**
 * Setting up TOTP: the authenticator app's key (the otpauth URI, to paste or
 * open, and the bare secret to type), the backup codes once, and the first
 * code to confirm. Two-factor authentication is on only after that code.
 */
export function TotpSetupPage(props: TotpSetupPageProps) {
  const secret = new URL(props.totpUri).searchParams.get("secret") ?? "";
  return (
    <Layout title="Set up two-factor authentication" nonce={props.nonce}>
      <style nonce={props.nonce}>
        {".qr svg { display: block; width: 12rem; height: 12rem; margin: .5rem 0; } a.uri { word-break: break-all; }"}
      </style>
      <h1>Set up two-factor authentication</h1>
      {props.error ? (
        <p class="error" role="alert" data-testid="form-error">
          {props.error}
        </p>
      ) : null}
      <ol>
        <li>
          Scan this code with your authenticator app:
          <div
            class="qr"
            data-testid="totp-qr"
            // Built from the URI's bytes alone (two-factor/qr-code.ts): digits and fixed markup, no text of anyone's.
            dangerouslySetInnerHTML={{ __html: qrSvg(props.totpUri, "QR code of your authenticator key") }}
          />
          Or add it by hand: open the link{" "}
          <a class="uri" href={props.totpUri} data-testid="totp-uri">
            {props.totpUri}
          </a>{" "}
          on the device, or type the key <code data-testid="totp-secret">{secret}</code>.
        </li>
        <li>
          Keep these backup codes somewhere safe. Each signs you in once if you lose the device; they are not shown
          again.
          <ul data-testid="backup-codes">
            {props.backupCodes.map((code) => (
              <li>
                <code>{code}</code>
              </li>
            ))}
          </ul>
        </li>
        <li>Enter the code the app shows now.</li>
      </ol>
      <form class="card" method="post" action={ACCOUNT_PATH.confirmTwoFactor}>
        <input type="hidden" name="totpUri" value={props.totpUri} />
        {props.backupCodes.map((code) => (
          <input type="hidden" name="backupCode" value={code} />
        ))}
        <label>
          Authentication code
          <input
            name="code"
            inputmode="numeric"
            autocomplete="one-time-code"
            pattern="[0-9]{6}"
            maxlength={6}
            required
          />
        </label>
        <button type="submit">Turn on two-factor authentication</button>
      </form>
      <p>
        <a href={ENDPOINT.account}>Cancel</a>
      </p>
    </Layout>
  );
}
