/**
 * The demo's document store. Every organization sees the same four sample
 * documents, one per classification, and the store also holds another
 * organization's rows: the filter from the gateway is what keeps them apart.
 */
export interface DocumentRow {
  id: string;
  org_id: string;
  title: string;
  classification: "public" | "internal" | "confidential" | "restricted";
}

const SAMPLES: readonly Omit<DocumentRow, "id" | "org_id">[] = [
  { title: "Company handbook", classification: "public" },
  { title: "Quarterly roadmap", classification: "internal" },
  { title: "Salary bands", classification: "confidential" },
  { title: "Incident forensics", classification: "restricted" },
];

export const FOREIGN_ORG_ID = "org_someone_else";

export function documentStore(orgId: string): DocumentRow[] {
  const rowsFor = (org: string) => SAMPLES.map((s, i) => ({ id: `${org}-doc-${i + 1}`, org_id: org, ...s }));
  return [...rowsFor(orgId), ...rowsFor(FOREIGN_ORG_ID)];
}
