// Vite's `?raw` suffix for a migration's SQL (test/token/prune-session-org.test.ts runs one migration's backfill on rows of its own).
declare module "*.sql?raw" {
  const text: string;
  export default text;
}
