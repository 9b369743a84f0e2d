// Types for scripts/workers.mjs, so the TypeScript tests and bench can import the one topology.
export type WorkerName = "gateway" | "token" | "authn" | "demo" | "orgState";
export interface WorkerEntry {
  config: string;
  envInterface: string;
  typesWith: WorkerName[];
  dir?: string;
}
export const WORKERS: Record<WorkerName, WorkerEntry>;
export const SYSTEM_CONFIGS: string[];
export function originVars(origin: string): Record<WorkerName, Record<string, string>>;
export const SECRETS: Record<WorkerName, string[]>;
export const DERIVED_SECRETS: string[];
export function derivedSecrets(secrets: Record<string, string>): Promise<Record<string, string>>;
