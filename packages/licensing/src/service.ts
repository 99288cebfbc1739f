// License operations (SPEC §5): create (device-signed), delegated, revoke, status. Each verified request becomes a
// draft; under the log's append lock its id and `supersedes` are fixed, the provider key countersigns it, the WORM
// archive gets its bytes, and it is appended to the log and projected into the license index in one transaction.
import { createPublicKey, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { AtollError } from '@atoll/errors';
import { checkLicenseDocument, LicenseRejection, verifyDeviceSignature, type LicenseDocument } from './document.js';
import { countersign, entryLeaf, grantedTerms, type DelegatedTerms, type EntrySigner, type LicenseEntry, type LogEntry, type RevocationEntry, type UnsignedEntry } from './entries.js';
import type { SigningKeyStore } from './keys.js';
import { supersedesInLogOrder, type LogStep } from './supersede.js';
import type { TransparencyLog } from './log.js';
import type { LiveLicenseCache } from './live.js';

export type Database = Pick<Pool, 'query' | 'connect'>;

/** WORM storage of raw entries (an S3 bucket with Object Lock in COMPLIANCE mode). */
export interface LicenseArchive {
  put(key: string, bytes: Buffer, opts: { retainUntil: Date }): Promise<void>;
}

export interface LicensingOptions {
  db: Database;
  keys: SigningKeyStore;
  log: TransparencyLog;
  archive: LicenseArchive;
  /** How long raw entries stay locked after the license's expiry (revocations: after they are logged). */
  retentionDays: number;
  /** The upload path's cache of live licenses: a revocation made here is forgotten there at once, before the notice. */
  liveLicenses?: Pick<LiveLicenseCache, 'forget'>;
}

export interface DeviceCaller {
  deviceId: string;
  providerId: string;
  tid: string;
  /** The device's registered public key (PEM or SPKI). */
  publicKey: string;
}

export interface LogReceipt {
  index: number;
  checkpoint: string;
  inclusionProof: string[];
  /** base64 of the leaf bytes (the entry's canonical JSON). */
  leaf: string;
}

export interface CreatedLicense {
  id: string;
  document: LicenseDocument;
  signature: string;
  countersignature: LicenseEntry['countersignature'];
  log: LogReceipt;
}

export interface LicenseSummary {
  id: string;
  delegated: boolean;
  device: string | null;
  tables: string[];
  tags: string[];
  uses: DelegatedTerms['uses'];
  expiry: string;
  issuedAt: string;
  logIndex: number;
  /** Whether it counts for uploads and deliveries: device-signed, or delegated under an approved agreement. */
  counts: boolean;
}

/**
 * A verified request, not yet an entry: its id, its `supersedes` (licenses) and the countersignature over both are
 * made under the log's lock (see commitNow), as is everything that depends on the log's current state.
 */
type Draft =
  | { kind: 'license'; body: Omit<UnsignedEntry<LicenseEntry>, 'id' | 'supersedes'>; signer: EntrySigner; retainUntil: Date }
  | { kind: 'revocation'; body: Omit<UnsignedEntry<RevocationEntry>, 'id'>; signer: EntrySigner; retainUntil: Date };

interface Committed {
  /** The entries exactly as logged (and archived), in the order of the drafts. */
  entries: LogEntry[];
  indexes: number[];
  size: number;
  checkpoint: string;
}

const ARCHIVE_PREFIX = 'entries/';
/** Requests per group commit: bounds one transaction's size and lock time. */
const MAX_BATCH_REQUESTS = 64;
const DAY_MS = 24 * 3600_000;
/** Archive writes in flight at once within one commit. */
const ARCHIVE_CONCURRENCY = 16;

function rejection(e: LicenseRejection): AtollError {
  switch (e.reason) {
    case 'expired':
      return new AtollError('LICENSE_EXPIRED', e.message);
    case 'signature':
      return new AtollError('SIGNATURE_INVALID', e.message);
    case 'table':
      return new AtollError('TABLE_NOT_APPROVED', e.message);
    default:
      return new AtollError('LICENSE_INVALID', e.message);
  }
}

export class Licensing {
  constructor(private readonly o: LicensingOptions) {}

  private async approvedTables(providerId: string, tables: readonly string[]): Promise<void> {
    const { rows } = await this.o.db.query<{ table_name: string }>(
      `SELECT table_name FROM table_schemas WHERE provider_id = $1 AND status = 'approved' AND table_name = ANY($2::text[])`,
      [providerId, tables],
    );
    const ok = new Set(rows.map((r) => r.table_name));
    const missing = tables.filter((t) => !ok.has(t));
    if (missing.length > 0) throw new AtollError('TABLE_NOT_APPROVED', missing.join(', '), { details: { tables: missing } });
  }

  private async knownDestinations(uses: DelegatedTerms['uses']): Promise<void> {
    const ids = [...new Set(uses.flatMap((u) => u.destinations).filter((d) => d !== '*'))];
    if (ids.length === 0) return;
    const { rows } = await this.o.db.query<{ id: string }>('SELECT id FROM consumers WHERE id = ANY($1::uuid[])', [ids]);
    const known = new Set(rows.map((r) => r.id));
    const unknown = ids.filter((d) => !known.has(d));
    if (unknown.length > 0) throw new AtollError('LICENSE_INVALID', `unknown destination consumer(s): ${unknown.join(', ')}`);
  }

  /** Archives the entries' leaf bytes (the bytes the log gets), a bounded number at a time. */
  private async archive(entries: readonly LogEntry[], drafts: readonly Draft[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < entries.length; i = next++) {
        const e = entries[i]!;
        await this.o.archive.put(`${ARCHIVE_PREFIX}${e.kind}/${e.id}.json`, entryLeaf(e), { retainUntil: drafts[i]!.retainUntil });
      }
    };
    await Promise.all(Array.from({ length: Math.min(ARCHIVE_CONCURRENCY, entries.length) }, worker));
  }

  private readonly queue: Array<{ drafts: Draft[]; resolve: (r: Committed) => void; reject: (e: unknown) => void }> = [];
  private flushing = false;

  /**
   * Group commit: appends are serialised by the log's lock, so entries that arrive while a transaction is in flight
   * wait and go together in the next one (one lock, one fsync, one checkpoint for all of them). If a batch fails,
   * its requests are retried one by one, so one bad entry (e.g. a revocation that lost a race) fails alone.
   */
  private commit(drafts: Draft[]): Promise<Committed> {
    return new Promise((resolve, reject) => {
      this.queue.push({ drafts, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH_REQUESTS);
        try {
          const out = await this.commitNow(batch.flatMap((b) => b.drafts));
          let k = 0;
          for (const b of batch) {
            const n = b.drafts.length;
            b.resolve({ entries: out.entries.slice(k, k + n), indexes: out.indexes.slice(k, k + n), size: out.size, checkpoint: out.checkpoint });
            k += n;
          }
        } catch (e) {
          if (batch.length === 1) batch[0]!.reject(e);
          else for (const b of batch) await this.commitNow(b.drafts).then(b.resolve, b.reject);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Turns drafts into entries, archives, appends and indexes them in one transaction; returns the entries as logged,
   * each one's log index and the checkpoint.
   *
   * Why everything happens under the lock: `supersedes` depends on which licenses are live, and that is only settled
   * while no other append can run. Deciding it earlier let two licenses signed at once both stay live. Rather than
   * check a pre-signed set and fail the loser with a retryable conflict (under a burst for one subject, a group commit
   * would then fail all but one entry per round: N rounds for N licenses), the entry is countersigned here, once, with
   * the set read under the lock: the service holds the provider key, and an Ed25519 signature costs microseconds.
   * Ids are made here too, so a transaction that fails after archiving never collides with its own retry in the WORM
   * bucket (`If-None-Match`). The price is that archive writes run while the lock is held.
   */
  private async commitNow(drafts: Draft[]): Promise<Committed> {
    const client = await this.o.db.connect();
    try {
      await client.query('BEGIN');
      await this.o.log.lock(client);
      const entries = await this.finalize(client, drafts);
      // The archive gets exactly the bytes the log will: a logged entry is always archived (a failed commit below
      // leaves an archived entry that is in no log, which is harmless).
      await this.archive(entries, drafts);
      const appended = await this.o.log.append(
        client,
        entries.map((e) => ({ leaf: entryLeaf(e), kind: e.kind, entryId: e.id })),
      );
      await this.project(client, entries, appended.indexes);
      await client.query('COMMIT');
      return { entries, indexes: appended.indexes, size: appended.size, checkpoint: appended.checkpoint };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /**
   * Countersigns drafts in log order against the live licenses read under the lock. A license supersedes every live
   * license of the same provider and subject whose tables are a subset of its own, including ones earlier in this
   * batch; a revocation of a license that is no longer live (revoked or superseded, maybe earlier in this batch)
   * fails with LICENSE_ENDED, which fails the batch and sends its requests one by one (see flush).
   */
  private async finalize(tx: Pick<Pool, 'query'>, drafts: readonly Draft[]): Promise<LogEntry[]> {
    const { rows } = await tx.query<{ id: string; provider_id: string; tid: string; tables: string[] }>(
      `SELECT id, provider_id, tid, tables FROM licenses
       WHERE ended_at IS NULL AND (provider_id, tid) IN (SELECT * FROM unnest($1::uuid[], $2::text[])) ORDER BY log_index`,
      [drafts.map((d) => d.body.provider), drafts.map((d) => d.body.subject)],
    );
    const ids = drafts.map(() => randomUUID());
    const steps = drafts.map((d, i): LogStep =>
      d.kind === 'revocation'
        ? { kind: 'revocation', provider: d.body.provider, subject: d.body.subject, license: d.body.license }
        : { kind: 'license', id: ids[i]!, provider: d.body.provider, subject: d.body.subject, tables: grantedTables(d.body) },
    );
    const supersedes = supersedesInLogOrder(
      rows.map((r) => ({ id: r.id, provider: r.provider_id, subject: r.tid, tables: r.tables })),
      steps,
    );
    return drafts.map((d, i) =>
      d.kind === 'revocation'
        ? countersign<RevocationEntry>({ ...d.body, id: ids[i]! }, d.signer)
        : countersign<LicenseEntry>({ ...d.body, id: ids[i]!, supersedes: supersedes[i]! }, d.signer),
    );
  }

  /**
   * Applies entries to the license index (a projection of the log: it could be rebuilt by replaying the leaves), with
   * one statement per kind of change for the whole batch.
   */
  private async project(tx: Pick<Pool, 'query'>, entries: readonly LogEntry[], indexes: readonly number[]): Promise<void> {
    const licenses: Array<{ e: LicenseEntry; index: number }> = [];
    for (const [i, e] of entries.entries()) {
      if (e.kind === 'license') {
        licenses.push({ e, index: indexes[i]! });
        continue;
      }
      const r = await tx.query(`UPDATE licenses SET ended_at = $2, ended_by = $3, end_reason = 'revoked' WHERE id = $1 AND ended_at IS NULL`, [e.license, e.loggedAt, e.id]);
      if (r.rowCount !== 1) throw new AtollError('LICENSE_ENDED');
      await tx.query('DELETE FROM license_grants WHERE license_id = $1', [e.license]);
    }
    if (licenses.length === 0) return;
    const rows = licenses.map(({ e, index }) => ({ e, t: grantedTerms(e), index }));
    await tx.query(
      `INSERT INTO licenses (id, provider_id, tid, device_id, delegated, tables, uses, tags, expires_at, issued_at, log_index, entry)
       SELECT id, provider_id, tid, device_id, delegated, string_to_array(tables, ' '), uses::jsonb, string_to_array(tags, ' '), expires_at, issued_at, log_index, entry
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::boolean[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::bytea[])
         AS r(id, provider_id, tid, device_id, delegated, tables, uses, tags, expires_at, issued_at, log_index, entry)`,
      [
        rows.map((r) => r.e.id),
        rows.map((r) => r.e.provider),
        rows.map((r) => r.e.subject),
        rows.map((r) => r.e.document?.device ?? null),
        rows.map((r) => r.e.document === null),
        // Table names and tags match ^[a-z][a-z0-9_]*$, so a space joins them unambiguously.
        rows.map((r) => r.t.tables.join(' ')),
        rows.map((r) => JSON.stringify(r.t.uses)),
        rows.map((r) => r.t.tags.join(' ')),
        rows.map((r) => r.t.expiry),
        rows.map((r) => r.e.document?.issuedAt ?? r.e.loggedAt),
        rows.map((r) => r.index),
        rows.map((r) => entryLeaf(r.e)),
      ],
    );
    const grants = rows.flatMap(({ e, t }) => {
      // A delegated grant depends on the provider's agreement being approved (live.ts); a device-signed one does not.
      const agreement = e.delegated ? e.delegated.terms.sha256 : null;
      const all = t.tables.flatMap((table) => t.uses.flatMap((u) => u.usecases.flatMap((usecase) => u.destinations.map((d) => [e.id, e.provider, e.subject, table, usecase, d, t.expiry, agreement] as const))));
      return [...new Map(all.map((g) => [g.slice(3, 6).join('\u0000'), g])).values()];
    });
    await tx.query(
      `INSERT INTO license_grants (license_id, provider_id, tid, table_name, usecase, destination, expires_at, agreement_sha256)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[])`,
      [0, 1, 2, 3, 4, 5, 6, 7].map((k) => grants.map((g) => g[k])),
    );
    const superseded = rows.flatMap(({ e }) => e.supersedes.map((old) => ({ old, by: e.id, at: e.loggedAt })));
    if (superseded.length > 0) {
      // A superseded license that already ended (a concurrent revocation) stays as it was.
      await tx.query(
        `UPDATE licenses l SET ended_at = s.at, ended_by = s.by, end_reason = 'superseded'
         FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS s(old, by, at) WHERE l.id = s.old AND l.ended_at IS NULL`,
        [superseded.map((x) => x.old), superseded.map((x) => x.by), superseded.map((x) => x.at)],
      );
      await tx.query('DELETE FROM license_grants WHERE license_id = ANY($1::uuid[])', [superseded.map((x) => x.old)]);
    }
  }

  private async receipt(entry: LogEntry, index: number, size: number, checkpoint: string): Promise<LogReceipt> {
    const proof = await this.o.log.inclusionProof(index, size);
    return { index, checkpoint, inclusionProof: proof.map((h) => h.toString('base64')), leaf: entryLeaf(entry).toString('base64') };
  }

  /** Verifies a device-signed document, countersigns it with the provider's key, archives, logs and indexes it. */
  async create(input: { document: LicenseDocument; signature: string; device: DeviceCaller; now?: Date }): Promise<CreatedLicense> {
    const { document, signature, device } = input;
    const now = input.now ?? new Date();
    // The signature first: a tampered document fails here whatever else is wrong with it.
    if (!verifyDeviceSignature(document, signature, device.publicKey)) {
      throw new AtollError('SIGNATURE_INVALID', "the signature is not the device key's signature over the document's canonical JSON");
    }
    try {
      checkLicenseDocument(document, device, now);
    } catch (e) {
      if (e instanceof LicenseRejection) throw rejection(e);
      throw e;
    }
    await this.approvedTables(device.providerId, document.tables);
    await this.knownDestinations(document.uses);
    const key = await this.o.keys.providerKey(device.providerId);
    const { entries, indexes, size, checkpoint } = await this.commit([
      {
        kind: 'license',
        body: {
          v: 1,
          kind: 'license',
          provider: device.providerId,
          subject: device.tid,
          document,
          signature,
          deviceKey: spkiBase64(device.publicKey),
          delegated: null,
          loggedAt: now.toISOString(),
        },
        signer: { keyId: key.id, privateKey: key.privateKey },
        retainUntil: new Date(Date.parse(document.expiry) + this.o.retentionDays * DAY_MS),
      },
    ]);
    const entry = entries[0] as LicenseEntry;
    return { id: entry.id, document, signature, countersignature: entry.countersignature, log: await this.receipt(entry, indexes[0]!, size, checkpoint) };
  }

  /** Licenses under a provider's own agreement (no device signature): one countersigned entry per TID. */
  async createDelegated(input: { providerId: string; tids: readonly string[]; terms: DelegatedTerms; now?: Date }): Promise<{ licenses: Array<{ id: string; tid: string; log: LogReceipt }> }> {
    const now = input.now ?? new Date();
    const t = input.terms;
    const expiry = Date.parse(t.expiry);
    if (Number.isNaN(expiry)) throw new AtollError('LICENSE_INVALID', 'expiry must be an RFC 3339 time');
    if (expiry <= now.getTime()) throw new AtollError('LICENSE_EXPIRED');
    await this.approvedTables(input.providerId, t.tables);
    await this.knownDestinations(t.uses);
    const key = await this.o.keys.providerKey(input.providerId);
    const signer = { keyId: key.id, privateKey: key.privateKey };
    const retainUntil = new Date(expiry + this.o.retentionDays * DAY_MS);
    const drafts: Draft[] = [...new Set(input.tids)].map((tid) => ({
      kind: 'license',
      body: {
        v: 1,
        kind: 'license',
        provider: input.providerId,
        subject: tid,
        document: null,
        signature: null,
        deviceKey: null,
        delegated: { tables: t.tables, tags: t.tags, uses: t.uses, terms: t.terms, expiry: t.expiry },
        loggedAt: now.toISOString(),
      },
      signer,
      retainUntil,
    }));
    const { entries, indexes, size, checkpoint } = await this.commit(drafts);
    const licenses = [];
    for (const [i, e] of entries.entries()) licenses.push({ id: e.id, tid: e.subject, log: await this.receipt(e, indexes[i]!, size, checkpoint) });
    return { licenses };
  }

  /** Revokes a live license: by a device of its subject, or by its provider. Appends a revocation entry. */
  async revoke(input: { licenseId: string; by: { kind: 'device'; deviceId: string; providerId: string; tid: string } | { kind: 'provider'; providerId: string }; now?: Date }): Promise<{ id: string; license: string; log: LogReceipt }> {
    const now = input.now ?? new Date();
    const { rows } = await this.o.db.query<{ provider_id: string; tid: string; ended_at: Date | null }>('SELECT provider_id, tid, ended_at FROM licenses WHERE id = $1', [input.licenseId]);
    const lic = rows[0];
    const by = input.by;
    // Someone else's license is reported as missing, not forbidden: its existence is not the caller's business.
    if (!lic || lic.provider_id !== by.providerId || (by.kind === 'device' && lic.tid !== by.tid)) throw new AtollError('NOT_FOUND', `no license ${input.licenseId}`);
    if (lic.ended_at) throw new AtollError('LICENSE_ENDED');
    const key = await this.o.keys.providerKey(lic.provider_id);
    const { entries, indexes, size, checkpoint } = await this.commit([
      {
        kind: 'revocation',
        body: {
          v: 1,
          kind: 'revocation',
          provider: lic.provider_id,
          subject: lic.tid,
          license: input.licenseId,
          revokedBy: by.kind === 'device' ? { kind: 'device', id: by.deviceId } : { kind: 'provider', id: by.providerId },
          loggedAt: now.toISOString(),
        },
        signer: { keyId: key.id, privateKey: key.privateKey },
        retainUntil: new Date(now.getTime() + this.o.retentionDays * DAY_MS),
      },
    ]);
    this.o.liveLicenses?.forget(lic.provider_id, lic.tid);
    const entry = entries[0]!;
    return { id: entry.id, license: input.licenseId, log: await this.receipt(entry, indexes[0]!, size, checkpoint) };
  }

  /**
   * The subject's live licenses (optionally those covering any of `tables`), newest first, and whether every table is
   * covered by one that counts (a delegated license under an agreement not approved is listed with `counts: false`).
   */
  async status(input: { providerId: string; tid: string; tables?: readonly string[]; now?: Date }): Promise<{ active: boolean; licenses: LicenseSummary[] }> {
    const now = input.now ?? new Date();
    const { rows } = await this.o.db.query<{
      id: string;
      delegated: boolean;
      device_id: string | null;
      tables: string[];
      tags: string[];
      uses: DelegatedTerms['uses'];
      expires_at: Date;
      issued_at: Date;
      log_index: string;
      counts: boolean;
    }>(
      // The agreement hash of a delegated license is in its logged entry (its grants carry it too).
      `SELECT id, delegated, device_id, tables, tags, uses, expires_at, issued_at, log_index,
              (NOT delegated OR EXISTS (SELECT 1 FROM agreements a WHERE a.provider_id = l.provider_id AND a.status = 'approved'
                                          AND a.terms_sha256 = convert_from(l.entry, 'UTF8')::jsonb #>> '{delegated,terms,sha256}')) AS counts
       FROM licenses l
       WHERE provider_id = $1 AND tid = $2 AND ended_at IS NULL AND expires_at > $3 AND ($4::text[] IS NULL OR tables && $4::text[])
       ORDER BY log_index DESC LIMIT 100`,
      [input.providerId, input.tid, now, input.tables ?? null],
    );
    const licenses = rows.map((r) => ({
      id: r.id,
      delegated: r.delegated,
      device: r.device_id,
      tables: r.tables,
      tags: r.tags,
      uses: r.uses,
      expiry: r.expires_at.toISOString(),
      issuedAt: r.issued_at.toISOString(),
      logIndex: Number(r.log_index),
      counts: r.counts,
    }));
    // `active` as uploads see it: only licenses that count cover a table.
    const covered = new Set(licenses.filter((l) => l.counts).flatMap((l) => l.tables));
    const active = covered.size > 0 && (input.tables ?? []).every((t) => covered.has(t));
    return { active, licenses };
  }
}

function grantedTables(body: { document: LicenseDocument | null; delegated: DelegatedTerms | null }): string[] {
  return body.document?.tables ?? body.delegated?.tables ?? [];
}

/** The device key as base64 SPKI DER: the form the log carries, independent of PEM line wrapping. */
function spkiBase64(publicKey: string): string {
  return createPublicKey(publicKey).export({ type: 'spki', format: 'der' }).toString('base64');
}
