#!/usr/bin/env node
// Creates (once) the Python venv the PyIceberg baseline runs in: the interop pins plus SQLAlchemy for PyIceberg's
// SqlCatalog (sqlite, local warehouse). Separate from the interop venv so the tests' pins stay exactly theirs.
// Prints the venv's python path on stdout.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';

const REQUIREMENTS = ['pyiceberg[pyarrow,sql-sqlite]==0.12.0', 'pyarrow==21.0.0'];
const MARKER = REQUIREMENTS.join(' ');
const cacheDir = process.env.ATOLL_CACHE_DIR || join(homedir(), '.cache', 'atoll');
const venvDir = join(cacheDir, 'pyiceberg-bench-venv');
const python = join(venvDir, 'bin', 'python');
const marker = join(venvDir, '.atoll-requirements');

function run(cmd, args) {
  const res = spawnSync(cmd, args, { stdio: ['ignore', process.stderr, process.stderr] });
  if (res.error || res.status !== 0) throw new Error(`ensure-bench-venv: ${cmd} ${args.join(' ')} failed: ${res.error?.message ?? res.status}`);
}

if (!(existsSync(python) && existsSync(marker) && readFileSync(marker, 'utf8') === MARKER)) {
  run('python3', ['-m', 'venv', venvDir]);
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...REQUIREMENTS]);
  writeFileSync(marker, MARKER);
}
process.stdout.write(python);
