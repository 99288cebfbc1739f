// Billing months (UTC calendar months as YYYY-MM) and the money arithmetic that must not touch floating point.
import { AtollError } from '@atoll/errors';

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** A YYYY-MM month from user input; anything else is a 400 naming the expected shape. */
export function parseMonth(input: unknown): string {
  if (typeof input !== 'string' || !MONTH.test(input)) {
    throw new AtollError('INVALID_MONTH', `expected YYYY-MM, got ${JSON.stringify(typeof input === 'string' ? input.slice(0, 40) : input ?? null)}`);
  }
  const year = Number(input.slice(0, 4));
  if (year < 2000 || year > 9999) throw new AtollError('INVALID_MONTH', `year ${year} is out of range`);
  return input;
}

/** The month (UTC) a moment falls in. */
export function monthOf(d: Date): string {
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The month before `month`. */
export function previousMonth(month: string): string {
  const [y, m] = parseMonth(month).split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

/**
 * A decimal amount (Postgres numeric text, at most 6 decimals) as an integer count of millionths: the unit of the
 * Stripe meters, whose metered price is 0.0001 of the currency's minor unit (1/1,000,000 of the major unit).
 */
export function toMicros(amount: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,6})\d*)?$/.exec(amount.trim());
  if (!m) throw new Error(`not a non-negative decimal: ${amount}`);
  if (m[2] !== undefined && /[1-9]/.test(amount.trim().split('.')[1]!.slice(6))) throw new Error(`more than 6 decimals: ${amount}`);
  return BigInt(m[1]!) * 1_000_000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}
