// Public surface of the storage admin module: the StorageAdmin contract and its MinIO implementation.
export {
  StorageAdminError,
  isStorageAdminError,
  type AssumeRoleOptions,
  type PolicyDocument,
  type PolicyStatement,
  type ServiceAccountOptions,
  type StorageAdmin,
  type StorageAdminErrorDetails,
  type TemporaryCredentials,
} from './storage-admin.js';
export { MinioAdmin, type MinioAdminOptions } from './minio-admin.js';
export { StsCredentialCache, type StsCredentialCacheOptions } from './sts-cache.js';
export { decryptAdminPayload, encryptAdminPayload, isAdminPayloadEncrypted, UnsupportedPayloadError } from './madmin-crypto.js';
export { NotAuthenticError } from './sio-stream.js';
