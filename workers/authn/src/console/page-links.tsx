/**
 * Under a paged list the console shows (admin-call.ts adminListPage): a
 * link to the next rows, carrying the admin API's `next_cursor` as the
 * console page's own query parameter, and one back to the first rows when
 * this is not the first page. One render reads one page, however long the
 * list; reading on is a click.
 */
export function PageLinks(props: {
  /** The console page, without a query. */
  url: string;
  /** The console page's query parameter for this list's cursor. */
  param: string;
  /** The cursor this render read from; absent on the first page. */
  cursor: string | undefined;
  next: string | null;
  testId: string;
}) {
  if (props.next === null && props.cursor === undefined) return null;
  const at = (cursor: string) => `${props.url}?${new URLSearchParams({ [props.param]: cursor })}`;
  return (
    <p data-testid={props.testId}>
      {props.cursor !== undefined ? <a href={props.url}>First rows</a> : null}
      {props.cursor !== undefined && props.next !== null ? " · " : null}
      {props.next !== null ? (
        <a href={at(props.next)} data-testid={`${props.testId}-next`}>
          More rows
        </a>
      ) : null}
    </p>
  );
}
