// Public surface of the storage admin module: the StorageAdmin contract and its MinIO and SeaweedFS implementations.
export {
  StorageAdminError,
  checkPolicyDocument,
  isStorageAdminError,
  type AssumeRoleOptions,
  type IssuedServiceAccount,
  type PolicyDocument,
  type PolicyStatement,
  type ServiceAccountOptions,
  type ServiceRoleOptions,
  type StorageAdmin,
  type StorageAdminErrorDetails,
  type TemporaryCredentials,
} from './storage-admin.js';
export { MinioAdmin, type MinioAdminOptions } from './minio-admin.js';
export { SeaweedAdmin, type SeaweedAdminOptions } from './seaweed-admin.js';
export { StsCredentialCache, type StsCredentialCacheOptions } from './sts-cache.js';
export { decryptAdminPayload, encryptAdminPayload, isAdminPayloadEncrypted, UnsupportedPayloadError } from './madmin-crypto.js';
export { NotAuthenticError } from './sio-stream.js';
export { createStorageAdmin, storageDegradations, type Degradation, type StorageConnection, type StorageKind } from './select.js';
