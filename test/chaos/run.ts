// `npm run chaos [-- --faults 50 --seed N]`: starts the local stack unless it runs, drives the chaos suite against it
// (test/chaos/chaos.ts), prints the table of faults injected and invariants held, and writes bench/results/chaos.json.
// Exits 1 when an invariant was violated. CHAOS_SEED replays a run's fault order.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readStackEnvFile, repoRoot, up } from '@atoll/stack';
import { FAULT_KINDS, formatReport, runChaos, type FaultKind } from './chaos.js';

const { values } = parseArgs({ options: { faults: { type: 'string', default: '50' }, seed: { type: 'string' }, 'revoke-every': { type: 'string', default: '5' }, kinds: { type: 'string' } } });
const kinds = values.kinds?.split(',') as FaultKind[] | undefined;
if (kinds?.some((k) => !FAULT_KINDS.includes(k))) {
  process.stderr.write(`--kinds: one or more of ${FAULT_KINDS.join(', ')}\n`);
  process.exit(2);
}
const faults = Number(values.faults);
const seed = Number(values.seed ?? process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
if (!Number.isInteger(faults) || faults < 1 || !Number.isInteger(seed)) {
  process.stderr.write('usage: npm run chaos -- [--faults N] [--seed N] [--revoke-every N] [--kinds kill-api,restart-redis,…]\n');
  process.exit(2);
}
await up({ apps: true });
Object.assign(process.env, readStackEnvFile());
const say = (line: string) => process.stdout.write(`${line}\n`);
const report = await runChaos({ faults, seed, say, revokeEvery: Number(values['revoke-every']), ...(kinds ? { kinds } : {}) }).catch((e: Error) => {
  say(`chaos run stopped (seed ${seed}): ${e.message}`);
  process.exit(1);
});
say('');
say(formatReport(report));
const out = join(repoRoot, 'bench', 'results', 'chaos.json');
await mkdir(join(repoRoot, 'bench', 'results'), { recursive: true });
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
say(`written to ${out}`);
process.exit(report.ok ? 0 : 1);
