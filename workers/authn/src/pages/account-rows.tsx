import type { Child } from "hono/jsx";

/** The headings of an account-page list whose last column holds each row's action. */
export function ActionListHead(props: { columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((column) => (
          <th>{column}</th>
        ))}
        <th>
          <span class="muted">Action</span>
        </th>
      </tr>
    </thead>
  );
}

/**
 * One thing a row of the account page lets the person do (end a session,
 * revoke a key, remove a member…): a form POST naming the row in hidden
 * fields, so the path is the action's alone, with the row's own inputs (a
 * new name, a role) before its button. `ariaLabel` names the row, as a
 * screen reader hears the button out of its row.
 */
export function RowForm(props: {
  action: string;
  fields: Readonly<Record<string, string>>;
  label: string;
  ariaLabel: string;
  children?: Child;
}) {
  return (
    <form class="inline" method="post" action={props.action}>
      {Object.entries(props.fields).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      {props.children}
      <button class="secondary" type="submit" aria-label={props.ariaLabel}>
        {props.label}
      </button>
    </form>
  );
}
