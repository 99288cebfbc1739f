// Numbers and money as a person reads them.
export function money(amount: number | string, currency: string, maxFraction = 2): string {
  const n = typeof amount === 'string' ? Number(amount) : amount;
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase(), maximumFractionDigits: maxFraction }).format(n);
  } catch {
    return `${n} ${currency}`;
  }
}

export const count = (n: number | null | undefined) => (n === null || n === undefined ? '—' : n.toLocaleString('en'));

export const when = (iso: string | null) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '—');

export function thisMonth(): string {
  return new Date().toISOString().slice(0, 7);
}
