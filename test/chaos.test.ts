// The short chaos variant in `npm test` (issue 13; the full suite is `npm run chaos`, 50 faults): the workload of
// test/chaos/workload.ts runs while each kind of fault strikes once, in a seeded order — the api, the writer and the
// cleanroom worker SIGKILLed, MinIO, Redis and PostgreSQL restarted, the writer's temp directory filled — and after
// every fault every invariant of test/chaos/chaos.ts is checked from the outside (PyIceberg, DuckDB, the consumer's
// own key, the ledger). CHAOS_SEED replays an order.
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, formatReport, runChaos } from './chaos/chaos.js';

const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('chaos (short)', () => {
  it(`every invariant holds through one fault of each kind (seed ${seed})`, async () => {
    const lines: string[] = [];
    const report = await runChaos({ faults: FAULT_KINDS.length, seed, say: (l) => lines.push(l), gapMs: [1_000, 3_000], revokeEvery: 3 });
    const table = formatReport(report);
    // Shown on failure: which fault, which invariant, what was seen.
    expect(report.final, table).toEqual([]);
    expect(report.faults.flatMap((f) => f.violations), `${table}\n${lines.join('\n')}`).toEqual([]);
    // A fault takes down only its target: the apps ride out a restart of PostgreSQL, Redis or MinIO.
    expect(report.faults.flatMap((f) => f.collateral.map((c) => `${f.kind} took down ${c}`))).toEqual([]);
    // Each kind struck (the disk fault needs root for its tmpfs; CI runs as root here).
    expect(new Set(report.faults.map((f) => f.kind)).size).toBe(report.diskFaults === 'tmpfs' ? FAULT_KINDS.length : FAULT_KINDS.length - 1);
    expect(report.diskFaults).toBe('tmpfs');
    for (const i of report.invariants) expect(i, table).toEqual({ invariant: i.invariant, checks: FAULT_KINDS.length + 1, held: FAULT_KINDS.length + 1 });
    expect(report.workload.recordsAcknowledged).toBeGreaterThan(100);
    expect(report.workload.revokedSubjects).toBe(2);
  }, 1_800_000);
});
