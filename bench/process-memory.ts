// Resident memory of named processes, sampled once a second through a run (the load benchmark's "memory bounded"
// check): VmRSS from /proc/<pid>/status for other processes, process.memoryUsage().rss for this one. Linux only; on
// other systems a process reads as absent and the check says so rather than passing.
import { readFileSync } from 'node:fs';

export interface MemorySummary {
  /** Samples taken while the process was there. */
  samples: number;
  peakMb: number;
  endMb: number;
  /** Least-squares slope of RSS over the last `tailSeconds` of samples, MB per second (≈ 0 when it has levelled off). */
  tailSlopeMbPerS: number;
}

export interface MemoryBound {
  peakMb: number;
  tailSlopeMbPerS: number;
}

function rssMb(pid: number | 'self'): number | null {
  if (pid === 'self') return process.memoryUsage().rss / 2 ** 20;
  try {
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib ? Number(kib) / 1024 : null;
  } catch {
    return null;
  }
}

function slope(points: Array<[number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
}

export class MemorySampler {
  private readonly series = new Map<string, Array<[number, number]>>();
  private readonly timer: NodeJS.Timeout;
  private readonly start = performance.now();

  constructor(private readonly pids: Record<string, number | 'self'>, everyMs = 1000) {
    for (const name of Object.keys(pids)) this.series.set(name, []);
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  private sample(): void {
    const t = (performance.now() - this.start) / 1000;
    for (const [name, pid] of Object.entries(this.pids)) {
      const mb = rssMb(pid);
      if (mb !== null) this.series.get(name)!.push([t, mb]);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  summary(tailSeconds = 10): Record<string, MemorySummary | null> {
    const out: Record<string, MemorySummary | null> = {};
    for (const [name, points] of this.series) {
      if (points.length === 0) {
        out[name] = null;
        continue;
      }
      const last = points[points.length - 1]!;
      out[name] = {
        samples: points.length,
        peakMb: Math.max(...points.map(([, y]) => y)),
        endMb: last[1],
        tailSlopeMbPerS: slope(points.filter(([x]) => x >= last[0] - tailSeconds)),
      };
    }
    return out;
  }
}

/** What breaks the bound, one line per process (none when every process was sampled and stayed within it). */
export function memoryViolations(summary: Record<string, MemorySummary | null>, bound: MemoryBound, bounded: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of bounded) {
    const s = summary[name];
    if (!s) out.push(`${name}: no RSS samples (process not found)`);
    else if (s.peakMb > bound.peakMb) out.push(`${name}: peak RSS ${s.peakMb.toFixed(0)} MB > ${bound.peakMb} MB`);
    else if (s.tailSlopeMbPerS > bound.tailSlopeMbPerS) out.push(`${name}: RSS still climbing at the end (${s.tailSlopeMbPerS.toFixed(2)} MB/s > ${bound.tailSlopeMbPerS} MB/s)`);
  }
  return out;
}
