// The part of `node:async_hooks` this Worker uses (nodejs_compat in
// wrangler.toml provides the module; workerd implements AsyncLocalStorage):
// its tsconfig takes the Workers runtime types, not Node's, so the module
// is declared here rather than by adding every Node type beside them.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    /** `fn` and everything it starts, awaited or not, see `store` as getStore(). */
    run<R>(store: T, fn: () => R): R;
    getStore(): T | undefined;
  }
}
