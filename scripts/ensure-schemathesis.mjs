#!/usr/bin/env node
// Creates (once per machine) the pinned Python venv of schemathesis, the OpenAPI contract tester that
// test/api-contract.test.ts runs against the api, and prints the path of its `st` command.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { cacheDir, installOnce, run } from '../packages/iceberg/interop/cache-install.mjs';

// Pinned so a contract run means the same thing on every machine; bump deliberately.
const SCHEMATHESIS_VERSION = '4.32.5';
const REQUIREMENTS = [`schemathesis==${SCHEMATHESIS_VERSION}`];
const MARKER = REQUIREMENTS.join(' ');

const venvDir = join(cacheDir, 'schemathesis-venv');
const venvPython = join(venvDir, 'bin', 'python');
const st = join(venvDir, 'bin', 'st');
const markerFile = join(venvDir, '.atoll-requirements');

function ready() {
  return existsSync(st) && existsSync(markerFile) && readFileSync(markerFile, 'utf8') === MARKER;
}

try {
  installOnce(venvDir, ready, () => {
    rmSync(venvDir, { recursive: true, force: true });
    run('ensure-schemathesis', process.env.ATOLL_PYTHON || 'python3', ['-m', 'venv', venvDir]);
    // pip's progress goes to stderr so stdout stays a single line: the command's path.
    run('ensure-schemathesis', venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...REQUIREMENTS]);
    writeFileSync(markerFile, MARKER);
  });
  process.stdout.write(`${st}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
