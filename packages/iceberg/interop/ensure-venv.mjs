#!/usr/bin/env node
// Creates (once per machine) a pinned Python venv that interop tests read our tables with, and prints its python path.
//   node ensure-venv.mjs            PyIceberg + pyarrow (pyiceberg-venv)
//   node ensure-venv.mjs duckdb     stock DuckDB with its httpfs, iceberg and avro extensions as wheels (duckdb-venv):
//                                   the extension files come from PyPI, so nothing is downloaded when DuckDB runs.
//   node ensure-venv.mjs bulk-corpus pyarrow + fastavro + boto3 (bulk-corpus-venv): independent writers of the bulk-ingest
//                                   test's Parquet and Avro files (files written by other tools, not by Atoll).
//   node ensure-venv.mjs spark      PySpark (spark-venv); its Iceberg jars come from ensure-spark-jars.mjs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';

// Pinned so the interop proof means the same thing on every machine; bump deliberately.
const PYICEBERG_VERSION = '0.12.0';
const PYARROW_VERSION = '21.0.0';
const DUCKDB_VERSION = '1.4.4';
// duckdb-ext-* wheels carry the signed core extensions built for exactly that DuckDB release.
const DUCKDB_EXTENSIONS_VERSION = '1.4.4.20260205';
// DuckDB's Python client needs pytz to return TIMESTAMPTZ values.
const PYTZ_VERSION = '2025.2';
const FASTAVRO_VERSION = '1.13.1';
const BOTO3_VERSION = '1.44.8';
// The Spark line Iceberg 1.10's iceberg-spark-runtime-4.0_2.13 is built for (see ensure-spark-jars.mjs).
const PYSPARK_VERSION = '4.0.1';
const VENVS = {
  'bulk-corpus': { dir: 'bulk-corpus-venv', requirements: [`pyarrow==${PYARROW_VERSION}`, `fastavro==${FASTAVRO_VERSION}`, `boto3==${BOTO3_VERSION}`] },
  spark: { dir: 'spark-venv', requirements: [`pyspark==${PYSPARK_VERSION}`] },
  pyiceberg: { dir: 'pyiceberg-venv', requirements: [`pyiceberg[pyarrow]==${PYICEBERG_VERSION}`, `pyarrow==${PYARROW_VERSION}`] },
  duckdb: {
    dir: 'duckdb-venv',
    requirements: [`duckdb==${DUCKDB_VERSION}`, `pytz==${PYTZ_VERSION}`, ...['httpfs', 'iceberg', 'avro'].map((e) => `duckdb-ext-${e}==${DUCKDB_EXTENSIONS_VERSION}`)],
  },
};
const which = process.argv[2] ?? 'pyiceberg';
if (!Object.hasOwn(VENVS, which)) {
  process.stderr.write(`ensure-venv: unknown venv ${JSON.stringify(which)}; one of ${Object.keys(VENVS).join(', ')}\n`);
  process.exit(2);
}
const REQUIREMENTS = VENVS[which].requirements;
const MARKER = REQUIREMENTS.join(' ');

const cacheDir = process.env.ATOLL_CACHE_DIR || join(homedir(), '.cache', 'atoll');
const venvDir = join(cacheDir, VENVS[which].dir);
const venvPython = join(venvDir, 'bin', 'python');
const markerFile = join(venvDir, '.atoll-requirements');
const lockDir = `${venvDir}.lock`;
// A lock older than this belongs to a crashed installer; pip with wheels finishes well within it.
const STALE_LOCK_MS = 15 * 60 * 1000;

function ready() {
  return existsSync(venvPython) && existsSync(markerFile) && readFileSync(markerFile, 'utf8') === MARKER;
}

function run(cmd, args) {
  // pip's progress goes to stderr so stdout stays a single line: the python path.
  const res = spawnSync(cmd, args, { stdio: ['ignore', process.stderr, process.stderr] });
  if (res.error) throw new Error(`ensure-venv: cannot run ${cmd}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`ensure-venv: ${cmd} ${args.join(' ')} exited with ${res.status}`);
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function acquireLock() {
  mkdirSync(cacheDir, { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir); // atomic: exactly one concurrent caller wins
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > STALE_LOCK_MS) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // lock vanished between the checks; loop and try again
      }
      sleep(1000);
    }
  }
}

function ensure() {
  if (ready()) return venvPython;
  acquireLock();
  try {
    if (ready()) return venvPython; // another process finished while we waited
    rmSync(venvDir, { recursive: true, force: true });
    const basePython = process.env.ATOLL_PYTHON || 'python3';
    run(basePython, ['-m', 'venv', venvDir]);
    run(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...REQUIREMENTS]);
    writeFileSync(markerFile, MARKER);
    return venvPython;
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

try {
  process.stdout.write(`${ensure()}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
