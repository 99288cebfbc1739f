// The start-up check of the api's vended Iceberg credentials (issue 15): on SeaweedFS they are sessions of the role
// init names after ATOLL_INIT_S3_API_USER, while the api asks for the role named after its own ATOLL_S3_ACCESS_KEY. If
// the two differ, every loadTable's credentials are refused. Minting one session as the catalog does finds that at
// start-up with the rights the api already has (no IAM read right is needed, and none is granted).
import { isStorageAdminError, type StorageAdmin } from './admin/index.js';
import { vendedCredentialsRole } from './policies.js';

/** The server refused the api's key the vended-credentials role: catalog credentials would fail on every table. */
export class VendedCredentialsRoleError extends Error {
  readonly role: string;
  readonly apiUser: string;

  constructor(apiUser: string, role: string, code: string | undefined, options: { cause: unknown }) {
    super(
      `the S3 server refuses the api's key ${apiUser} its vended-credentials role ${role} (${code ?? 'refused'}): ` +
        `the role is missing or trusts another user. Init makes it for ATOLL_INIT_S3_API_USER, which must equal the ` +
        `api's ATOLL_S3_ACCESS_KEY (running init again makes it anew); until then every Iceberg REST table load would ` +
        'fail to vend credentials',
      options,
    );
    this.name = 'VendedCredentialsRoleError';
    this.role = role;
    this.apiUser = apiUser;
  }
}

/**
 * Mints one session of the api's vended-credentials role (SeaweedFS; on MinIO, whose sessions are bounded by the
 * user's own policy, the role plays no part and this checks that STS answers the api's key). Throws
 * VendedCredentialsRoleError when the server refuses (4xx); any other failure (the server unreachable) propagates
 * unchanged so that the caller can tell the two apart.
 */
export async function checkVendedCredentialsRole(admin: Pick<StorageAdmin, 'assumeRole'>, apiUser: string): Promise<void> {
  const role = vendedCredentialsRole(apiUser);
  try {
    // The narrowest session there is: one bucket's location. It is never handed out and expires in 15 minutes.
    await admin.assumeRole({
      role,
      durationSeconds: 900,
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetBucketLocation'], Resource: ['arn:aws:s3:::atoll-vended-credentials-check'] }] },
    });
  } catch (e) {
    if (isStorageAdminError(e) && e.status >= 400 && e.status < 500) throw new VendedCredentialsRoleError(apiUser, role, e.code, { cause: e });
    throw e;
  }
}
