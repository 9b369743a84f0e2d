/**
 * A query built once per database binding in an isolate, for the token
 * endpoint's per-request reads: drizzle's query builder made the SQL anew on
 * every request, which a workerd CPU profile of the token Worker put at about
 * a sixth of its CPU per client_credentials token (bench/README.md,
 * "Profiling"). Only the building is kept: each call still binds its values
 * (drizzle `sql.placeholder`) and reads D1. A placeholder's value reaches the
 * driver as given, so a column with a mode (a timestamp) takes its stored
 * form (milliseconds for `timestamp_ms`).
 */
export function preparedPerDatabase<Query>(build: (db: D1Database) => Query): (db: D1Database) => Query {
  const built = new WeakMap<D1Database, Query>();
  return (db) => {
    let query = built.get(db);
    if (query === undefined) {
      query = build(db);
      built.set(db, query);
    }
    return query;
  };
}
