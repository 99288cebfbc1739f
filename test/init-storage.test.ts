// The one-shot init refuses to make the api's storage user and vended-credentials role under a name other than the
// one the api signs as (ATOLL_INIT_S3_API_USER ≠ ATOLL_S3_ACCESS_KEY): on SeaweedFS the api would ask for a role that
// does not exist and every Iceberg table load would fail to vend credentials; on MinIO the api's key would not be the
// user init made. It refuses before changing anything, on both servers alike.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadContext, serviceUsers, type StackContext } from '@atoll/stack';
import { runInit } from './support/run-init.js';

let ctx: StackContext;

beforeAll(async () => {
  ctx = await loadContext({ install: false });
});

describe('init and the api agree on the api storage user', () => {
  it("refuses an api user other than the api's access key, before changing anything", async () => {
    const api = serviceUsers(ctx.storage).api;
    const other = `${api}other`;
    const r = await runInit(ctx, { ATOLL_INIT_S3_API_USER: other });
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain(`init failed: ATOLL_INIT_S3_API_USER (${other}) differs from the api's ATOLL_S3_ACCESS_KEY (${api})`);
    expect(r.output).toContain(`role ${other}-vended, but the api signs as ${api} and asks for ${api}-vended`);
    // Refused first: no migration ran, no bucket, user or role was touched.
    expect(r.output).not.toMatch(/init\.(migrations|bucket|storage|keycloak)\./);
    expect(r.output).not.toContain(ctx.secrets.s3ApiSecret);
  }, 180_000);

  it('runs with the two equal, as the stack, compose and Helm set them', async () => {
    const r = await runInit(ctx, {});
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('init.storage.role.ready');
  }, 180_000);
});
