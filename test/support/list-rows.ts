// Rows of the admin API's paged lists (docs/endpoints.md "Paged lists"),
// written straight to D1 so that a test can have more than a page of them,
// all created in one millisecond: only metadata, nothing that works (no
// secret, no sealed token).

/** One row, column by column. */
export type Row = Record<string, string | number>;

export function clientRow(orgId: string, id: string, at: number): Row {
  return {
    client_id: id,
    org_id: orgId,
    name: id,
    type: "machine",
    auth_method: "client_secret_basic",
    secret_hash: "unused",
    grant_types: "client_credentials",
    scopes: "documents:read",
    audiences: "https://api.example.test",
    status: "active",
    created_at: at,
    updated_at: at,
  };
}

export function scimTokenRow(orgId: string, id: string, at: number): Row {
  return { id, org_id: orgId, token_hash: "unused", created_by: "test", created_at: at };
}

export function connectionRow(orgId: string, id: string, at: number): Row {
  return {
    id,
    org_id: orgId,
    provider_id: "provider-unused",
    resource: "https://upstream.example.test",
    owner_kind: "user",
    owner_id: `user-${id}`,
    token_endpoint: "https://upstream.example.test/token",
    client_id: "upstream-client",
    access_token_sealed: "sealed-unused",
    token_type: "Bearer",
    scopes: "",
    created_by: "test",
    created_at: at,
    updated_at: at,
  };
}

/** What an agent asks of an MCP server (an access request) and is given (an MCP grant), alike in both. */
const MCP_ACCESS: Row = {
  client_id: "agent-unused",
  server_name: "docs",
  resource: "https://mcp.example.test",
  scopes: "",
  tools: "search",
  on_behalf_of: "org",
};

/** An access request already decided (`approved`), so no read marks it expired. */
export function accessRequestRow(orgId: string, id: string, at: number): Row {
  return {
    id,
    org_id: orgId,
    ...MCP_ACCESS,
    reason: "listing",
    ttl_seconds: 3600,
    status: "approved",
    created_at: at,
    expires_at: at + 3_600_000,
  };
}

export function mcpGrantRow(orgId: string, id: string, at: number): Row {
  return {
    id,
    org_id: orgId,
    ...MCP_ACCESS,
    status: "active",
    expires_at: at + 3_600_000,
    created_by: "test",
    created_at: at,
  };
}

/** An invite's claims only: no invite JWT is stored, so none of these can be redeemed. */
export function inviteRow(orgId: string, id: string, at: number): Row {
  return {
    jti: id,
    org_id: orgId,
    labels: "{}",
    scopes: "documents:read",
    audiences: "https://api.example.test",
    expires_at: at + 3_600_000,
    created_by: "test",
    created_at: at,
  };
}

export function delegationGrantRow(orgId: string, id: string, at: number): Row {
  return {
    id,
    org_id: orgId,
    subject: "user-unused",
    actor_client_id: "agent-unused",
    scopes: "documents:read",
    audiences: "https://api.example.test",
    status: "active",
    created_by: "test",
    created_at: at,
  };
}

/** `INSERT INTO table …` statements for rows of one shape, each within D1's 100 bound parameters. */
export function insertStatements(table: string, rows: readonly Row[]): { sql: string; params: (string | number)[] }[] {
  const columns = Object.keys(rows[0] ?? {});
  const perStatement = Math.floor(100 / columns.length);
  const statements = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    statements.push({
      sql: `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${chunk.map(() => `(${columns.map(() => "?").join(", ")})`).join(", ")}`,
      params: chunk.flatMap((row) => columns.map((column) => row[column] as string | number)),
    });
  }
  return statements;
}
