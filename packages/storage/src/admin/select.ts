// ATOLL_STORAGE picks the StorageAdmin implementation and states, once, what the chosen server lacks and what Atoll
// does instead (issue 15 §3: degrade explicitly, never silently). Each row is backed by test/storage-conformance*.
import { MinioAdmin } from './minio-admin.js';
import { SeaweedAdmin } from './seaweed-admin.js';
import type { StorageAdmin } from './storage-admin.js';

export type StorageKind = 'minio' | 'seaweedfs';

export interface StorageConnection {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

/** A capability the server lacks and the fallback Atoll uses in its place. */
export interface Degradation {
  capability: string;
  fallback: string;
}

export function createStorageAdmin(kind: StorageKind, conn: StorageConnection): StorageAdmin {
  return kind === 'seaweedfs' ? new SeaweedAdmin(conn) : new MinioAdmin(conn);
}

const DEGRADATIONS: Record<StorageKind, readonly Degradation[]> = {
  minio: [],
  seaweedfs: [
    {
      capability: 'bucket notifications to Redis',
      fallback: 'bulk ingest finds new staging objects with the reconciler alone (it lists staging every ATOLL_BULK_RECONCILE_MS), not on upload',
    },
    {
      capability: 'caller-chosen bulk key pairs with an inline policy',
      fallback: 'the server issues the pair; the key carries exactly its parent user\'s policy (staging/<provider>/ only)',
    },
    {
      capability: 'a non-admin user\'s self-assumed temporary credentials carrying the user\'s policies',
      fallback:
        'Iceberg REST vended credentials are sessions of a named role (<api user>-vended, made by init; only the api\'s user may assume it), bounded by the role\'s policy and narrowed to one table by the session policy',
    },
    {
      capability: 'STS sessions longer than 12 hours',
      fallback: 'vended credentials are asked for at most 12 hours',
    },
  ],
};

/** What `kind` lacks, for the start-up log and `/readyz` details. Empty for MinIO. */
export function storageDegradations(kind: StorageKind): readonly Degradation[] {
  return DEGRADATIONS[kind];
}
