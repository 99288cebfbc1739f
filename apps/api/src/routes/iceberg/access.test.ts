// Unit tests of the catalog's namespace mapping: a consumer names its cleanroom `cr_<hex>` (one level), the store keys
// it ['cleanroom', <hex>]; other consumers' cleanrooms are 404, the lake is 403 for consumers and cleanrooms for operators.
import type { ClientPrincipal } from '@atoll/identity';
import { describe, expect, it } from 'vitest';
import type { ApiDeps, Config } from '../../deps.js';
import { CatalogAccess, cleanroomNamespace, isCleanroomNamespace, type Caller } from './access.js';
import { IcebergRestError } from './errors.js';

const OWN = '3f2a9c0e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const OTHER = '00000000-1111-4222-8333-444444444444';
const HEX = OWN.replaceAll('-', '');

/** Answers the two queries CatalogAccess makes: a consumer's cleanrooms, and whether a lake namespace exists. */
function access(): CatalogAccess {
  const pool = {
    query: async (sql: string, params: unknown[]) => {
      if (sql.includes('FROM cleanrooms')) return { rows: params[0] === 'consumer-a' ? [{ id: OWN, bucket: 'atoll-cr-a' }] : [{ id: OTHER, bucket: 'atoll-cr-b' }] };
      if (sql.includes('UNION ALL')) return { rowCount: params[0] === 'sales' ? 1 : 0, rows: [] };
      return { rows: [] };
    },
  };
  const config = { ATOLL_BUCKET_LAKE: 'atoll-lake' } as unknown as Config;
  return new CatalogAccess(config, { pool, storageAdmin: {} } as unknown as Pick<ApiDeps, 'pool' | 'storageAdmin'>);
}

const principal = {} as ClientPrincipal;
const consumerA: Caller = { kind: 'consumer', principal, consumerId: 'consumer-a' };
const operator: Caller = { kind: 'operator', principal };

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    return err instanceof IcebergRestError ? `${err.status} ${err.type}` : String(err);
  }
}

describe('cleanroom namespaces', () => {
  it('are cr_ plus the id without dashes; both that and the store\'s `cleanroom` level are reserved', () => {
    expect(cleanroomNamespace(OWN)).toBe(`cr_${HEX}`);
    expect(isCleanroomNamespace([`cr_${HEX}`])).toBe(true);
    expect(isCleanroomNamespace(['cr_anything'])).toBe(true);
    expect(isCleanroomNamespace(['cleanroom', HEX])).toBe(true);
    expect(isCleanroomNamespace(['raw'])).toBe(false);
    expect(isCleanroomNamespace(['crm'])).toBe(false);
  });

  it('a consumer\'s own cr_<hex> maps to the store key and its bucket, read-only, tables at the bucket root', async () => {
    const scope = await access().scope(consumerA, [`cr_${HEX}`]);
    expect(scope).toMatchObject({ namespace: [`cr_${HEX}`], storageNamespace: ['cleanroom', HEX], bucket: 'atoll-cr-a', writable: false });
    expect(scope.tableKey('purchases')).toBe('purchases');
    expect(await access().visibleNamespaces(consumerA)).toEqual([[`cr_${HEX}`]]);
    expect(await access().childNamespaces(consumerA, [])).toEqual([[`cr_${HEX}`]]);
  });

  it('another consumer\'s cleanroom, a malformed one and the store\'s nested form are 404; the lake is 403', async () => {
    const a = access();
    expect(await failure(a.scope(consumerA, [`cr_${OTHER.replaceAll('-', '')}`]))).toBe('404 NoSuchNamespaceException');
    expect(await failure(a.scope(consumerA, [`cr_${HEX.toUpperCase()}`]))).toBe('404 NoSuchNamespaceException');
    expect(await failure(a.scope(consumerA, [`cr_${HEX}`, 'x']))).toBe('404 NoSuchNamespaceException');
    expect(await failure(a.scope(consumerA, ['cleanroom', HEX]))).toBe('404 NoSuchNamespaceException');
    expect(await failure(a.scope(consumerA, ['raw']))).toBe('403 ForbiddenException');
  });

  it('operators get 403 for cleanroom namespaces in either form and see lake namespaces as before', async () => {
    const a = access();
    expect(await failure(a.scope(operator, [`cr_${HEX}`]))).toBe('403 ForbiddenException');
    expect(await failure(a.scope(operator, ['cleanroom', HEX]))).toBe('403 ForbiddenException');
    const sales = await a.scope(operator, ['sales']);
    expect(sales).toMatchObject({ namespace: ['sales'], storageNamespace: ['sales'], bucket: 'atoll-lake', writable: true });
    expect(sales.tableKey('t')).toBe('sales/t');
    // The writers' namespaces are read-only through the catalog (and so are their vended credentials).
    expect(await a.scope(operator, ['published'])).toMatchObject({ namespace: ['published'], writable: false, implicit: true });
    expect(await a.scope(operator, ['raw'])).toMatchObject({ namespace: ['raw'], writable: false, implicit: true });
    expect(await failure(a.scope(operator, ['nope']))).toBe('404 NoSuchNamespaceException');
  });
});
