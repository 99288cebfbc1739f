#!/usr/bin/env node
// Creates (once per machine) a pinned Python venv that interop tests read our tables with, and prints its python path.
//   node ensure-venv.mjs            PyIceberg + pyarrow (pyiceberg-venv)
//   node ensure-venv.mjs duckdb     stock DuckDB with its httpfs, iceberg and avro extensions as wheels (duckdb-venv):
//                                   the extension files come from PyPI, so nothing is downloaded when DuckDB runs.
//   node ensure-venv.mjs bulk-corpus pyarrow + fastavro + boto3 (bulk-corpus-venv): independent writers of the bulk-ingest
//                                   test's Parquet and Avro files (files written by other tools, not by Atoll).
//   node ensure-venv.mjs spark      PySpark (spark-venv); its Iceberg jars come from ensure-spark-jars.mjs.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { cacheDir, installOnce, run } from './cache-install.mjs';

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

const venvDir = join(cacheDir, VENVS[which].dir);
const venvPython = join(venvDir, 'bin', 'python');
const markerFile = join(venvDir, '.atoll-requirements');

function ready() {
  return existsSync(venvPython) && existsSync(markerFile) && readFileSync(markerFile, 'utf8') === MARKER;
}

function ensure() {
  installOnce(venvDir, ready, () => {
    rmSync(venvDir, { recursive: true, force: true });
    const basePython = process.env.ATOLL_PYTHON || 'python3';
    run('ensure-venv', basePython, ['-m', 'venv', venvDir]);
    // pip's progress goes to stderr so stdout stays a single line: the python path.
    run('ensure-venv', venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...REQUIREMENTS]);
    writeFileSync(markerFile, MARKER);
  });
  return venvPython;
}

try {
  process.stdout.write(`${ensure()}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
