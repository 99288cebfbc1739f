// Deidentification of free text (ARCHITECTURE decision 10): identifiers that slipped into a provider's text columns —
// email addresses, IP addresses, phone numbers — are masked before rows are published. RE2 syntax (DuckDB).
import { ident } from '@atoll/duck';
import type { SchemaColumn } from './columns.js';

export const PII_PATTERNS: ReadonlyArray<{ kind: string; re2: string }> = [
  { kind: 'email', re2: String.raw`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}` },
  { kind: 'ip', re2: String.raw`\b((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\b|\b([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b` },
  // International numbers after a + (8+ digits and separators), and North-American 3-3-4 numbers; dates such as
  // 2026-01-02 and plain counts are not phone numbers. (RE2 has no look-around, so the shapes are kept explicit.)
  { kind: 'phone', re2: String.raw`\+[0-9][0-9 .()-]{6,}[0-9]|\(?\b[0-9]{3}\)?[ .-][0-9]{3}[ .-][0-9]{4}\b` },
];

/** The published columns that are scanned: text the provider marked neither as the user id nor as identity. */
export function freeTextColumns(columns: readonly SchemaColumn[]): SchemaColumn[] {
  return columns.filter((c) => c.type === 'string' && c.role !== 'user_id' && c.role !== 'identity');
}

/** SQL that masks every identifier in a text expression, e.g. `reach me at [email]`. */
export function maskPiiSql(expr: string): string {
  let out = expr;
  for (const p of PII_PATTERNS) out = `regexp_replace(${out}, '${p.re2.replaceAll("'", "''")}', '[${p.kind}]', 'g')`;
  return out;
}

/** SQL counting the masked values of one row (columns whose text changed). */
export function maskedCountSql(columns: readonly SchemaColumn[], alias = 'b'): string {
  const cols = freeTextColumns(columns);
  if (cols.length === 0) return '0';
  return cols.map((c) => `CASE WHEN ${alias}.${ident(c.name)} IS DISTINCT FROM ${maskPiiSql(`${alias}.${ident(c.name)}`)} THEN 1 ELSE 0 END`).join(' + ');
}
