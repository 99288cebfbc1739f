// Every list the portal shows as a table: a screen-reader caption, column headers with their scope, an optional row
// header, right-aligned figures, and (by default) the keyboard-reachable scroll region a wide table needs on a phone.
import type { ReactNode } from 'react';
import { Scroll } from './Scroll';

export interface Column<T> {
  /** What the header cell says; `null` for a column of actions, named for screen readers only. */
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** A figure: right-aligned in header and cells. */
  num?: boolean;
  /** The cell names its row (`<th scope="row">`). */
  rowHeader?: boolean;
}

export interface DataTableProps<T> {
  /** The caption, and the scroll region's accessible name. */
  label: string;
  rows: readonly T[];
  rowKey: (row: T) => string;
  columns: Array<Column<T>>;
  /** Shown instead of the table when there is no row; nothing when left out. */
  empty?: ReactNode;
  /** Wrap in the scroll region (default) — narrow tables that never overflow go without it. */
  scroll?: boolean;
  /** Show the caption to everyone rather than to screen readers only. */
  visibleCaption?: boolean;
  rowClassName?: (row: T) => string | undefined;
  testId?: string;
}

export function DataTable<T>({ label, rows, rowKey, columns, empty, scroll = true, visibleCaption = false, rowClassName, testId }: DataTableProps<T>) {
  if (rows.length === 0) return empty ?? null;
  const table = (
    <table data-testid={testId}>
      <caption className={visibleCaption ? undefined : 'sr-only'}>{label}</caption>
      <thead>
        <tr>
          {columns.map((c, i) => (
            <th key={i} scope="col" className={c.num ? 'num' : undefined}>
              {c.header ?? <span className="sr-only">Actions</span>}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={rowKey(r)} className={rowClassName?.(r)}>
            {columns.map((c, i) =>
              c.rowHeader ? (
                <th key={i} scope="row" className={c.num ? 'num' : undefined}>
                  {c.cell(r)}
                </th>
              ) : (
                <td key={i} className={c.num ? 'num' : undefined}>
                  {c.cell(r)}
                </td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
  return scroll ? <Scroll label={label}>{table}</Scroll> : table;
}
