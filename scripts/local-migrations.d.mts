// Types for scripts/local-migrations.mjs, which `npm start` and `mono-auth init --local` share.
export interface LocalDatabase {
  binding: string;
  config: string;
}
export const LOCAL_DATABASES: readonly LocalDatabase[];
export class LocalMigrationError extends Error {}
export function applyLocalMigrations(
  persistTo: string,
  options?: { databases?: readonly LocalDatabase[]; root?: string; onDatabase?: (binding: string) => void },
): Promise<{ binding: string; config: string; applied: string[] }[]>;
