// A process that commits one append with the version hint in the background and is killed (SIGKILL, by itself) the
// moment the commit returns, before the hint write starts: what a writer crashing between the swap and the hint leaves.
//   node --import tsx test/support/hint-crash-writer.ts <namespace> <name> <tag> <workDir>
// Prints "COMMITTED <metadataLocation>" just before it dies (stdout to a pipe is synchronous on Linux).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createPool } from '@atoll/db';
import { appendFiles } from '@atoll/iceberg';
import { Lake, tableLocation, writeDataFileForTable, type SchemaColumn } from '@atoll/lake';
import { ObjectStore } from '@atoll/storage';
import { writeCsv } from './lake-helpers.js';

const hintCrashColumns: SchemaColumn[] = [
  { name: 'user_id', type: 'string', role: 'user_id' },
  { name: 'k', type: 'string' },
  { name: 'iteration', type: 'long' },
];

const [namespace, name, tag, workDir] = process.argv.slice(2);
if (!namespace || !name || !tag || !workDir) {
  process.stderr.write('usage: hint-crash-writer <namespace> <name> <tag> <workDir>\n');
  process.exit(2);
}
const env = process.env;
const id = { namespace: namespace.split('.'), name };
const pool = createPool(env.ATOLL_DATABASE_URL!, { max: 2, applicationName: 'atoll-hint-crash' });
const store = new ObjectStore({ endpoint: env.ATOLL_S3_ENDPOINT!, region: env.ATOLL_S3_REGION!, accessKey: env.ATOLL_S3_WRITER_ACCESS_KEY!, secretKey: env.ATOLL_S3_WRITER_SECRET_KEY! });
await mkdir(workDir, { recursive: true });
const lake = new Lake(store, pool, join(workDir, 'cache'));
const location = tableLocation('atoll-lake', id);
const input = await writeCsv(workDir, tag, 3);
const { dataFile } = await writeDataFileForTable({ lake, id, location, columns: hintCrashColumns, input, format: 'csv', workDir, memoryLimit: '128MB' });
const commit = await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: [dataFile], commitId: `hint-crash:${tag}`, versionHint: 'background' });
process.stdout.write(`COMMITTED ${commit.metadataLocation}\n`);
process.kill(process.pid, 'SIGKILL');
