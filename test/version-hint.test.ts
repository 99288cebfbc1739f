// version-hint.text written in the background (the writer's mode, versionHint: 'background') against real MinIO and
// PostgreSQL: concurrent writers in two "processes" (two Lakes) end with the hint at the current version, each never
// writing an older one than it wrote before; a writer killed between its swap and its hint leaves the commit
// current in the catalog and the hint one version behind until the next commit.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appendFiles, createTable, flushVersionHints, loadTable, metadataVersion, type DataFile, type TableIdentifier } from '@atoll/iceberg';
import { rawSchema, tableLocation, writeDataFileForTable, type Lake, type SchemaColumn } from '@atoll/lake';
import { describe, expect, it } from 'vitest';
import { lakeFixture, readTable, uniqueName, writeCsv } from './support/lake-helpers.js';

const columns: SchemaColumn[] = [
  { name: 'user_id', type: 'string', role: 'user_id' },
  { name: 'k', type: 'string' },
  { name: 'iteration', type: 'long' },
];
const script = fileURLToPath(new URL('./support/hint-crash-writer.ts', import.meta.url));

async function hintOf(lake: Lake, location: string): Promise<string> {
  return Buffer.from(await lake.io.read(`${location}/metadata/version-hint.text`)).toString('utf8');
}

async function pointerVersion(lake: Lake, id: TableIdentifier): Promise<number> {
  return metadataVersion((await lake.catalog.load(id))!.metadataLocation)!;
}

/** Records every version-hint.text this Lake writes, in order. */
function recordHints(lake: Lake): string[] {
  const written: string[] = [];
  const write = lake.io.write.bind(lake.io);
  lake.io.write = async (uri, bytes, opts) => {
    await write(uri, bytes, opts);
    if (uri.endsWith('/version-hint.text')) written.push(Buffer.from(bytes).toString('utf8'));
  };
  return written;
}

describe("version hints in the background (versionHint: 'background')", () => {
  it('2 processes × 3 writers, 24 appends: after flushVersionHints the hint names the current version; no writer went back', async () => {
    await using a = await lakeFixture({ poolSize: 6 });
    await using b = await lakeFixture({ poolSize: 6 });
    const id: TableIdentifier = { namespace: ['itest'], name: uniqueName('hint_bg') };
    const location = tableLocation('atoll-lake', id);
    await createTable({ io: a.lake.io, catalog: a.lake.catalog, id, location, schema: rawSchema(columns) });
    const files: DataFile[] = [];
    for (let i = 0; i < 24; i++) {
      const dir = join(a.workDir, `f${i}`);
      files.push((await writeDataFileForTable({ lake: a.lake, id, location, columns, input: await writeCsv(dir, `f${i}`, 2), format: 'csv', workDir: dir, memoryLimit: '128MB' })).dataFile);
    }
    const hints = [recordHints(a.lake), recordHints(b.lake)];
    const lakes = [a.lake, b.lake];
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        const lake = lakes[w % 2]!;
        for (let c = w; c < files.length; c += 6) await appendFiles({ io: lake.io, catalog: lake.catalog, id, files: [files[c]!], commitId: `bg:${c}`, versionHint: 'background' });
      }),
    );
    await flushVersionHints();
    const current = await pointerVersion(a.lake, id);
    expect(await hintOf(a.lake, location)).toBe(String(current));
    for (const written of hints) {
      expect(written.length).toBeGreaterThan(0);
      const versions = written.map(Number);
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
    }
    const state = await readTable(a.lake, id, a.workDir);
    expect(state.records).toBe(48);
    expect(new Set(state.commitIds).size).toBe(24);
  });

  it('a writer killed right after its commit returned: the catalog serves the commit, the hint lags until the next commit', async () => {
    await using fx = await lakeFixture({ poolSize: 4 });
    const id: TableIdentifier = { namespace: ['itest'], name: uniqueName('hint_crash') };
    const location = tableLocation('atoll-lake', id);
    await createTable({ io: fx.lake.io, catalog: fx.lake.catalog, id, location, schema: rawSchema(columns) });
    const child = spawn(process.execPath, ['--import', 'tsx', script, id.namespace.join('.'), id.name, 'crash', join(fx.workDir, 'child')], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, s) => resolve(s)));
    clearTimeout(guard);
    const committed = /^COMMITTED (\S+)$/m.exec(stdout)?.[1];
    expect(committed, `the writer printed no commit: ${stderr.slice(-2000)}`).toMatch(/v2\.metadata\.json$/);
    expect(signal).toBe('SIGKILL');

    // Through the catalog the commit is there: the pointer names it and its rows read back.
    expect((await fx.lake.catalog.load(id))!.metadataLocation).toBe(committed);
    const state = await readTable(fx.lake, id, fx.workDir);
    expect(state.keys).toEqual(['crash-0', 'crash-1', 'crash-2']);
    expect(state.commitIds).toEqual(['hint-crash:crash']);
    // By path, the previous version: the process died before its hint write.
    expect(await hintOf(fx.lake, location)).toBe('1');

    // The table's next commit (here another process, in the background) puts the hint right.
    const dir = join(fx.workDir, 'next');
    const { dataFile } = await writeDataFileForTable({ lake: fx.lake, id, location, columns, input: await writeCsv(dir, 'next', 1), format: 'csv', workDir: dir, memoryLimit: '128MB' });
    await appendFiles({ io: fx.lake.io, catalog: fx.lake.catalog, id, files: [dataFile], commitId: 'next', versionHint: 'background' });
    await flushVersionHints();
    expect(await hintOf(fx.lake, location)).toBe('3');
    expect((await loadTable({ io: fx.lake.io, catalog: fx.lake.catalog, id })).metadataLocation).toMatch(/v3\.metadata\.json$/);
  });
});
