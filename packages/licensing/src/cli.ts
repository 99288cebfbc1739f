// `atoll verify-license <file> [--keys <keys.json>] [--json]`: verifies a license receipt offline with public keys
// only — the device signature, the provider countersignature, the checkpoint signature, the inclusion proof, and a
// consistency proof to a newer checkpoint when the file carries one. Exit 0: verified; 1: not verified; 2: usage.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyLicenseBundle, type LicenseBundle, type LicenseReceipt, type PublishedKeys } from './verify.js';

const USAGE = 'usage: atoll verify-license <file> [--keys <keys.json>] [--json]\n';

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command !== 'verify-license') {
    process.stderr.write(USAGE);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options: { keys: { type: 'string' }, json: { type: 'boolean', default: false } } });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const file = parsed.positionals[0];
  if (!file || parsed.positionals.length > 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  let bundle: LicenseBundle;
  let keys: PublishedKeys | undefined;
  try {
    const raw = readJson(file) as Partial<LicenseBundle> & Partial<LicenseReceipt>;
    // A bare receipt (the body POST /v1/licenses returned) is accepted too; its keys then come from --keys.
    bundle = raw.license ? (raw as LicenseBundle) : { license: raw as LicenseReceipt };
    if (parsed.values.keys) keys = readJson(parsed.values.keys) as PublishedKeys;
  } catch (e) {
    process.stderr.write(`cannot read input: ${(e as Error).message}\n`);
    return 2;
  }
  const result = verifyLicenseBundle(bundle, keys);
  if (parsed.values.json) {
    process.stdout.write(`${JSON.stringify({ ok: result.ok, checks: result.checks }, null, 2)}\n`);
  } else {
    for (const c of result.checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.check}${c.detail ? ` (${c.detail})` : ''}\n`);
    process.stdout.write(result.ok ? `verified: ${result.entry?.kind} ${result.entry?.id}\n` : 'NOT VERIFIED\n');
  }
  return result.ok ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
