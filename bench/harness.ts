// Benchmark plumbing: timing with repeats, median, ratio against a baseline measured in the same run, and results.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string;
  params: Record<string, string | number>;
  atollSeconds: number;
  baselineSeconds: number;
  baseline: string;
  /** baseline time / Atoll time: above 1 means Atoll is faster. */
  ratio: number;
  target?: number;
  samples: { atoll: number[]; baseline: number[] };
  /** Where Atoll's time went (median ms per part), when a benchmark measures it. */
  breakdownMs?: Record<string, number>;
  /** Further figures a benchmark reports beside the times (throughput, peak RSS). */
  metrics?: Record<string, number>;
  /** What went wrong (errors, losses, a broken bound): a benchmark with failures makes `npm run bench` exit 1. */
  failures?: string[];
}

/** Wall time of `fn`, unless it returns its own measurement in seconds (e.g. a child process timing its work). */
export async function time(fn: () => Promise<void | number>): Promise<number> {
  const start = process.hrtime.bigint();
  const own = await fn();
  return typeof own === 'number' ? own : Number(process.hrtime.bigint() - start) / 1e9;
}

/** The version-hint mode a benchmark's appends use: `background` (the writer's) unless `await` is asked for. */
export function versionHintMode(value: string | undefined): 'await' | 'background' {
  if (value === undefined || value === '' || value === 'background') return 'background';
  if (value === 'await') return 'await';
  throw new Error(`BENCH_VERSION_HINT must be background or await, not ${JSON.stringify(value)}`);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Alternates baseline and Atoll runs so machine noise hits both alike. */
export async function compare(opts: {
  name: string;
  params: Record<string, string | number>;
  baseline: string;
  repeats: number;
  /** May return its own measurement in seconds instead of being timed from outside. */
  runBaseline: (i: number) => Promise<void | number>;
  runAtoll: (i: number) => Promise<void | number>;
  target?: number;
}): Promise<BenchResult> {
  const atoll: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < opts.repeats; i++) {
    base.push(await time(() => opts.runBaseline(i)));
    atoll.push(await time(() => opts.runAtoll(i)));
  }
  const atollSeconds = median(atoll);
  const baselineSeconds = median(base);
  return {
    name: opts.name,
    params: opts.params,
    atollSeconds,
    baselineSeconds,
    baseline: opts.baseline,
    ratio: baselineSeconds / atollSeconds,
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    samples: { atoll, baseline: base },
  };
}

/** The value at percentile `p` (0–100) of ascending `sorted`, as driveFleet computes it (0 when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export function printTable(results: BenchResult[]): void {
  const rows = results.map((r) => [
    r.name,
    Object.entries(r.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
    r.atollSeconds.toFixed(3),
    r.baselineSeconds.toFixed(3),
    `${r.ratio.toFixed(2)}×`,
    r.target !== undefined ? `${r.target}× ${r.ratio >= r.target ? 'met' : 'MISSED'}` : '',
  ]);
  const header = ['benchmark', 'params', 'atoll s', 'baseline s', 'ratio', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  for (const r of results.filter((x) => x.metrics)) {
    process.stdout.write(`  ${r.name} (${r.params.format ?? ''}): ${Object.entries(r.metrics!).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
  }
  for (const r of results.filter((x) => x.failures?.length)) {
    process.stdout.write(`  FAILED ${r.name}: ${r.failures!.length} problem(s)\n${r.failures!.slice(0, 20).map((f) => `    - ${f}\n`).join('')}`);
  }
}

export async function writeResults(results: BenchResult[]): Promise<string> {
  const file = join(dirname(fileURLToPath(import.meta.url)), 'results', 'latest.json');
  await mkdir(dirname(file), { recursive: true });
  const doc = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    results,
  };
  await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}
