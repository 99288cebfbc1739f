// Provider bulk keys (SPEC §4, ARCHITECTURE decision 4): long-lived S3 keys that reach only staging/<provider>/.
//
// Why MinIO service accounts and not STS: SPEC §4 hands out an access key and a secret key only — no session token — so
// that aws-cli, boto3, mc and spreadsheet-export tools configured with a key pair just work; STS credentials are
// unusable without their session token. A service account is a key pair that MinIO itself expires (`expiresAt`) and
// that is deleted (revoked) at once. Every admin call a bulk key needs sits in `provisionBulkKey` / `revokeBulkKey` /
// `revokeProviderBulkKeys`, so whichever process holds the admin right (the cleanroom worker, asked by the api over its
// provision queue) calls exactly these.
import { randomBytes } from 'node:crypto';
import type { PolicyDocument, StorageAdmin } from './admin/index.js';

const arn = (bucket: string, path = '') => `arn:aws:s3:::${bucket}${path}`;

/** What a provider's bulk key may do: put, list and read its own staging prefix, nothing else anywhere. */
export function bulkKeyPolicy(stagingBucket: string, providerId: string): PolicyDocument {
  const prefix = `${providerId}/`;
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetBucketLocation'], Resource: [arn(stagingBucket)] },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [arn(stagingBucket)],
        Condition: { StringLike: { 's3:prefix': [prefix, `${prefix}*`] } },
      },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: [arn(stagingBucket, `/${prefix}*`)],
      },
    ],
  };
}

/** The MinIO user that parents every bulk key of one provider; its own secret is random and never kept. */
export function bulkParentUser(providerId: string): string {
  return `atoll-bulk-${providerId}`;
}

export interface BulkKey {
  accessKeyId: string;
  secretAccessKey: string;
  expiresAt: Date;
}

export interface ProvisionBulkKeyOptions {
  admin: StorageAdmin;
  stagingBucket: string;
  providerId: string;
  expiresAt: Date;
}

/**
 * Creates a new bulk key for a provider. Idempotent on the provider's parent user and policy; each call adds one key
 * (rotation: earlier keys keep working until they expire or are revoked).
 */
export async function provisionBulkKey(opts: ProvisionBulkKeyOptions): Promise<BulkKey> {
  const parent = bulkParentUser(opts.providerId);
  const policyName = `${parent}-staging`;
  await opts.admin.putPolicy(policyName, bulkKeyPolicy(opts.stagingBucket, opts.providerId));
  // createUser replaces the parent's secret on every call: nobody ever signs with it.
  await opts.admin.createUser(parent, randomBytes(24).toString('base64url'));
  await opts.admin.attachPolicies(parent, [policyName]);
  // 20 upper-case characters like AWS keys; the "BK" prefix tells bulk keys apart in MinIO's logs.
  const accessKeyId = `BK${randomBytes(12).toString('base64url').toUpperCase().replace(/[^A-Z0-9]/g, 'X').slice(0, 18)}`;
  const secretAccessKey = randomBytes(30).toString('base64url');
  // A server that issues its own pair (SeaweedFS) answers with it; the provider gets whatever the server will accept.
  const issued = await opts.admin.addServiceAccount({
    parentUser: parent,
    accessKey: accessKeyId,
    secretKey: secretAccessKey,
    // The inline policy repeats the parent's so the key stays scoped even if the parent's policy were widened.
    policy: bulkKeyPolicy(opts.stagingBucket, opts.providerId),
    expiresAt: opts.expiresAt,
    description: `Atoll bulk key of provider ${opts.providerId}`,
  });
  return { accessKeyId: issued.accessKey, secretAccessKey: issued.secretKey, expiresAt: opts.expiresAt };
}

/** Revokes one bulk key at once; a key already gone is not an error. */
export async function revokeBulkKey(admin: StorageAdmin, accessKeyId: string): Promise<void> {
  await admin.deleteServiceAccount(accessKeyId);
}

/** Revokes every bulk key of a provider: deleting the parent user deletes its service accounts with it. */
export async function revokeProviderBulkKeys(admin: StorageAdmin, providerId: string): Promise<void> {
  await admin.deleteUser(bulkParentUser(providerId));
}
