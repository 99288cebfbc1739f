// Which live licenses each new license supersedes, decided in log order. Pure: the caller reads the live set under
// the log's append lock (service.ts), so nothing can change it between this decision and the append.
import { AtollError } from '@atoll/errors';

export interface LiveLicense {
  id: string;
  provider: string;
  subject: string;
  tables: readonly string[];
}

export type LogStep =
  | { kind: 'license'; id: string; provider: string; subject: string; tables: readonly string[] }
  | { kind: 'revocation'; provider: string; subject: string; license: string };

const subjectKey = (provider: string, subject: string) => `${provider}\u0000${subject}`;

/**
 * For each step, the ids the license supersedes (`[]` for a revocation): every license of the same provider and
 * subject live at that point in the log whose tables are a subset of the new one's — including licenses earlier in
 * `steps`. Throws LICENSE_ENDED for a revocation of a license that is not live at its turn (never was, revoked, or
 * superseded by an earlier step).
 */
export function supersedesInLogOrder(live: readonly LiveLicense[], steps: readonly LogStep[]): string[][] {
  const bySubject = new Map<string, Array<{ id: string; tables: readonly string[] }>>();
  for (const l of live) {
    const k = subjectKey(l.provider, l.subject);
    bySubject.set(k, [...(bySubject.get(k) ?? []), { id: l.id, tables: l.tables }]);
  }
  return steps.map((s) => {
    const k = subjectKey(s.provider, s.subject);
    const mine = bySubject.get(k) ?? [];
    if (s.kind === 'revocation') {
      if (!mine.some((l) => l.id === s.license)) throw new AtollError('LICENSE_ENDED');
      bySubject.set(k, mine.filter((l) => l.id !== s.license));
      return [];
    }
    const covered = new Set(s.tables);
    const supersedes = mine.filter((l) => l.tables.every((t) => covered.has(t))).map((l) => l.id);
    bySubject.set(k, [...mine.filter((l) => !supersedes.includes(l.id)), { id: s.id, tables: s.tables }]);
    return supersedes;
  });
}
