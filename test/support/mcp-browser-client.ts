import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";

/**
 * The MCP client application's side of OAuthClientProvider: where it keeps
 * what the SDK hands it, and how it opens the authorization URL (here: in
 * Chromium, recorded so the test can drive the page). The client id is read
 * when the SDK asks, since the test registers the client after building it.
 */
export class BrowserClientProvider implements OAuthClientProvider {
  tokensSaved?: OAuthTokens;
  verifier = "";
  authorizationUrl?: URL;

  constructor(
    private readonly callback: string,
    private readonly registeredClientId: () => string,
  ) {}

  get redirectUrl() {
    return this.callback;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "Example MCP client",
      redirect_uris: [this.callback],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation(): OAuthClientInformationMixed {
    return { client_id: this.registeredClientId() };
  }
  tokens() {
    return this.tokensSaved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.tokensSaved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}
