// The least-privilege S3 policies of Atoll's own services and of consumers' cleanroom keys (decision 4).
import type { PolicyDocument, PolicyStatement, StorageKind } from './admin/index.js';

const arn = (bucket: string, path = '') => `arn:aws:s3:::${bucket}${path}`;

export interface BucketNames {
  staging: string;
  lake: string;
  /** Prefix shared by every cleanroom bucket, e.g. "atoll-cr-". */
  cleanroomPrefix: string;
  /** The Object-Lock (WORM) bucket of license log entries; the api may add objects and set retention, never delete. */
  licenses?: string;
}

export function cleanroomBucketName(prefix: string, cleanroomId: string): string {
  return `${prefix}${cleanroomId.replaceAll('-', '')}`;
}

/**
 * The api: uploads into staging, reads the lake (estimates), writes Iceberg metadata and data files of lake tables for
 * the REST catalog (and vends STS credentials bounded by that), provisions cleanroom buckets, users and policies.
 */
export function apiServicePolicy(b: BucketNames): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket'], Resource: [arn(b.staging), arn(b.lake)] },
      { Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'], Resource: [arn(b.staging, '/*')] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [arn(b.lake, '/*')] },
      ...(b.licenses
        ? [
            { Effect: 'Allow' as const, Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:GetBucketObjectLockConfiguration'], Resource: [arn(b.licenses)] },
            { Effect: 'Allow' as const, Action: ['s3:PutObject', 's3:PutObjectRetention', 's3:GetObject', 's3:GetObjectRetention'], Resource: [arn(b.licenses, '/*')] },
          ]
        : []),
      // Iceberg REST catalog: the api writes metadata files of commits it serves, and it is the parent of the vended
      // (STS) credentials, which can never exceed it: clients append under a table's data/ and metadata/ only. No
      // DeleteObject: a lost commit attempt leaves an unreferenced file for orphan-file maintenance instead.
      { Effect: 'Allow', Action: ['s3:PutObject'], Resource: [arn(b.lake, '/*/metadata/*'), arn(b.lake, '/*/data/*')] },
      // Cleanroom tables are served by the catalog (metadata reads, read-only vended credentials); creating buckets
      // and the consumers' users and policies is the cleanroom worker's job: the public api holds no admin right.
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: [arn(`${b.cleanroomPrefix}*`)] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [arn(`${b.cleanroomPrefix}*`, '/*')] },
      // No sts:AssumeRole grant: MinIO lets every user assume a session bounded by its own policy, and on SeaweedFS
      // the api assumes its vended-credentials role, which that role's trust policy alone authorises.
    ],
  };
}

/**
 * The most the api's vended Iceberg credentials can ever reach (each session narrows it to one table's prefix): read
 * the lake and append under a table's data/ and metadata/, read cleanroom tables. On SeaweedFS it is the policy of
 * the api's vended-credentials role (`vendedCredentialsRole`); MinIO bounds the session by the api's own policy, which
 * includes all of this.
 */
export function vendedCredentialsPolicy(b: BucketNames): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket'], Resource: [arn(b.lake), arn(`${b.cleanroomPrefix}*`)] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [arn(b.lake, '/*'), arn(`${b.cleanroomPrefix}*`, '/*')] },
      { Effect: 'Allow', Action: ['s3:PutObject'], Resource: [arn(b.lake, '/*/metadata/*'), arn(b.lake, '/*/data/*')] },
    ],
  };
}

/** The role whose sessions are the api's vended credentials, named after the api's storage user (init and api agree). */
export function vendedCredentialsRole(apiUser: string): string {
  return `${apiUser}-vended`;
}

/**
 * The admin calls the cleanroom worker makes (consumers' users and policies, providers' bulk keys), in each server's
 * own action names: MinIO's `admin:*` (which MinIO cannot scope to a name prefix), SeaweedFS's IAM `iam:*`.
 */
function adminStatement(storage: StorageKind): PolicyStatement {
  if (storage === 'seaweedfs') {
    return {
      Effect: 'Allow',
      Action: [
        'iam:CreateUser',
        'iam:DeleteUser',
        'iam:GetUser',
        'iam:CreateAccessKey',
        'iam:DeleteAccessKey',
        'iam:UpdateAccessKey',
        'iam:ListAccessKeys',
        'iam:CreatePolicy',
        'iam:CreatePolicyVersion',
        // SeaweedAdmin.putPolicy reads the stored version to keep an equal policy as it is.
        'iam:GetPolicyVersion',
        'iam:DeletePolicy',
        'iam:GetPolicy',
        'iam:ListPolicies',
        'iam:AttachUserPolicy',
        'iam:ListAttachedUserPolicies',
        'iam:CreateServiceAccount',
        'iam:DeleteServiceAccount',
        'iam:ListServiceAccounts',
      ],
      Resource: ['arn:aws:iam:::*'],
    };
  }
  return {
    Effect: 'Allow',
    Action: [
      'admin:CreateUser',
      'admin:DeleteUser',
      'admin:GetUser',
      'admin:EnableUser',
      'admin:DisableUser',
      'admin:CreatePolicy',
      'admin:DeletePolicy',
      'admin:GetPolicy',
      'admin:AttachUserOrGroupPolicy',
      'admin:ListUserPolicies',
      // Provider bulk keys (bulk-keys.ts): service accounts under a per-provider parent user.
      'admin:CreateServiceAccount',
      'admin:RemoveServiceAccount',
    ],
  };
}

/** The writer: consumes staging, owns the lake. */
export function writerServicePolicy(b: BucketNames): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket'], Resource: [arn(b.staging), arn(b.lake)] },
      // A data file past the S3 client's part size (64 MiB) goes up in parts, and the client first lists the
      // object's unfinished uploads to resume one: without these a large bulk file is denied at its upload.
      { Effect: 'Allow', Action: ['s3:ListBucketMultipartUploads'], Resource: [arn(b.lake)] },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:DeleteObject'], Resource: [arn(b.staging, '/*')] },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: [arn(b.lake, '/*')] },
    ],
  };
}

/**
 * The cleanroom worker: reads the lake, provisions and writes cleanroom buckets, and mints the consumers' keys. It is
 * not reachable from outside, which is why the MinIO admin rights (which MinIO cannot scope to a name prefix) live here.
 */
export function cleanroomServicePolicy(b: BucketNames, storage: StorageKind = 'minio'): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket'], Resource: [arn(b.lake)] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [arn(b.lake, '/*')] },
      {
        Effect: 'Allow',
        Action: ['s3:CreateBucket', 's3:DeleteBucket', 's3:ListBucket', 's3:GetBucketLocation', 's3:PutEncryptionConfiguration', 's3:GetEncryptionConfiguration'],
        Resource: [arn(`${b.cleanroomPrefix}*`)],
      },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: [arn(`${b.cleanroomPrefix}*`, '/*')] },
      adminStatement(storage),
    ],
  };
}

/** A consumer's cleanroom key: reads and lists only its bucket, writes only under scratch/ (SPEC §6). */
export function cleanroomConsumerPolicy(bucket: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket'], Resource: [arn(bucket)] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [arn(bucket, '/*')] },
      { Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: [arn(bucket, '/scratch/*')] },
    ],
  };
}
