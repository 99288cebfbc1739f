// Purge of a table the REST catalog dropped with purgeRequested=true: every object under its location goes, once
// nothing in the catalog points there any more. The api enqueues the job delayed, before it drops the entry, so
// commits in flight at the drop have settled (their compare-and-swap finds no row and fails) by the time it runs.
import { UnrecoverableError, type Job, type PurgeTableJob } from '@atoll/queue';
import type { WriterContext } from './ingest.js';

export interface PurgeReport {
  deleted: number;
  skipped?: string;
}

/** Namespaces whose tables belong to Atoll's writers; the catalog never drops them, so neither does a purge. */
const WRITER_NAMESPACES = ['raw', 'published'];

export async function purgeTable(ctx: Pick<WriterContext, 'pool' | 'lake' | 'lakeBucket' | 'log'>, data: PurgeTableJob): Promise<PurgeReport> {
  const m = /^s3:\/\/([^/]+)\/(.+?)\/*$/.exec(data.location);
  if (!m || m[1] !== ctx.lakeBucket) throw new UnrecoverableError(`purge of ${data.location}: not a location in the lake bucket`);
  const key = m[2]!;
  if (WRITER_NAMESPACES.some((ns) => key === ns || key.startsWith(`${ns}/`))) throw new UnrecoverableError(`purge of ${data.location}: the writers' tables are never purged`);
  const location = `s3://${ctx.lakeBucket}/${key}`;
  const table = [...data.namespace, data.name].join('.');
  // The same lock the writer's own commits of this name take, so a purge never interleaves with one of them.
  const client = await ctx.pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`atoll.commit:${table}`]);
    try {
      // Listed before the check: a table created at this location afterwards (only possible once it is empty, see the
      // api's create) never has its files in this list.
      const objects = await ctx.lake.io.list(`${location}/`);
      const { rows } = await client.query<{ namespace: string; name: string }>(
        `SELECT namespace, name FROM iceberg_tables WHERE starts_with(metadata_location, $1) LIMIT 1`,
        [`${location}/`],
      );
      if (rows[0]) {
        const reason = `location still belongs to ${rows[0].namespace}.${rows[0].name}`;
        ctx.log.warn({ op: 'iceberg.table.purge.skipped', table, location, reason }, 'purge skipped');
        return { deleted: 0, skipped: reason };
      }
      const uris = objects.map((o) => o.uri);
      if (ctx.lake.io.deleteMany) await ctx.lake.io.deleteMany(uris);
      else for (const uri of uris) await ctx.lake.io.delete(uri);
      ctx.log.info({ op: 'iceberg.table.purged', table, location, deleted: uris.length }, 'dropped table purged');
      return { deleted: uris.length };
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`atoll.commit:${table}`]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

export function processPurge(ctx: Pick<WriterContext, 'pool' | 'lake' | 'lakeBucket' | 'log'>, job: Job<PurgeTableJob>): Promise<PurgeReport> {
  return purgeTable(ctx, job.data);
}
