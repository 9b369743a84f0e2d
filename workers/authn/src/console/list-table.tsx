import type { Child } from "hono/jsx";

/**
 * A console list: one heading a column ("" for the column of a row's
 * actions) and one row per item. The browser tests and scripts find a list
 * by its data-testid, so every list is marked the same way.
 */
export function ListTable(props: { testId: string; columns: readonly string[]; children: Child }) {
  return (
    <table data-testid={props.testId}>
      <thead>
        <tr>
          {props.columns.map((column) => (
            <th>{column}</th>
          ))}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
}

/**
 * One thing a row lets the admin do (approve, revoke, delete…): a POST of
 * nothing but its URL, which names the item, so it is a form of one button,
 * inline beside the row's other actions. `secondary` for the ones that
 * take something away.
 */
export function RowAction(props: { action: string; label: string; secondary?: boolean }) {
  return (
    <form method="post" class="inline" action={props.action}>
      <button type="submit" class={props.secondary ? "secondary" : undefined}>
        {props.label}
      </button>
    </form>
  );
}
