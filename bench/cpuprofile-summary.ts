// Summarises V8 CPU profiles (.cpuprofile, as BENCH_CPU_PROF_DIR writes them): self time grouped into Atoll's own code
// (apps/, packages/), Fastify and its plugins, other npm packages, the load generator (bench/, test/support/), Node's
// internals, GC, idle — then the top functions by self time and, for Atoll's packages, by inclusive time.
// `npx tsx bench/cpuprofile-summary.ts <file.cpuprofile>… [--top N]`: several files are added up (e.g. 3 repeats).
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const FASTIFY = /node_modules\/(fastify|@fastify\/[^/]+|find-my-way|avvio|light-my-request|fast-json-stringify|fast-querystring|fast-uri|ajv|process-warning|toad-cache|secure-json-parse|fastify-plugin|@sinclair)\//;

export function category(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'program (V8/native)';
    return 'native';
  }
  if (url.startsWith('node:')) return 'node internals';
  if (FASTIFY.test(url)) return 'fastify';
  if (/\/(bench|test\/support)\//.test(url)) return 'load generator / bench';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!.startsWith('@atoll/') ? 'ours' : `npm: ${pkg[1]}`;
  if (/\/(apps|packages)\//.test(url)) return 'ours';
  return 'other';
}

function short(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '~/').replace(/^.*\/(apps|packages|bench|test)\//, '$1/');
  return `${frame.functionName || '(anonymous)'} ${url}${url ? `:${frame.lineNumber + 1}` : ''}`;
}

export function summarise(files: string[], top = 30): string {
  const self = new Map<string, number>();
  const cats = new Map<string, number>();
  const oursInclusive = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    for (let i = 0; i < p.samples.length; i++) {
      const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time runs until the next one
      const node = byId.get(p.samples[i]!)!;
      total += dt;
      const key = short(node.callFrame);
      self.set(key, (self.get(key) ?? 0) + dt);
      const cat = category(node.callFrame);
      cats.set(cat, (cats.get(cat) ?? 0) + dt);
      // Inclusive time of our own functions: each distinct one on the stack once.
      const seen = new Set<string>();
      for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
        const f = byId.get(id)!.callFrame;
        if (category(f) !== 'ours') continue;
        const k = short(f);
        if (seen.has(k)) continue;
        seen.add(k);
        oursInclusive.set(k, (oursInclusive.get(k) ?? 0) + dt);
      }
    }
  }
  const busy = total - (cats.get('idle') ?? 0);
  const pct = (v: number, of: number) => `${((100 * v) / of).toFixed(1).padStart(5)} %`;
  const lines = [`profiled ${(total / 1000).toFixed(0)} ms, busy (not idle) ${(busy / 1000).toFixed(0)} ms; shares are of busy time`, '', 'by category (self time):'];
  for (const [k, v] of [...cats].sort((a, b) => b[1] - a[1])) if (k !== 'idle') lines.push(`  ${pct(v, busy)}  ${k}`);
  lines.push('', `top ${top} functions (self time):`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).filter(([k]) => !k.startsWith('(idle)')).slice(0, top)) lines.push(`  ${pct(v, busy)}  ${k}`);
  lines.push('', `Atoll's own functions (inclusive time, top ${top}):`);
  for (const [k, v] of [...oursInclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v, busy)}  ${k}`);
  return lines.join('\n');
}

const args = process.argv.slice(2);
const t = args.indexOf('--top');
const topN = t >= 0 ? Number(args.splice(t, 2)[1]) : 30;
if (args.length > 0) process.stdout.write(`${summarise(args, topN)}\n`);
