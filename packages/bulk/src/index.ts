// Bulk ingest over S3 (SPEC §4): provider keys, staged-object naming, notifications, decompression and format readers.
export { BulkCredentialService, type BulkCredentialOptions, type BulkCredentials, type BulkKeyMinter } from './credentials.js';
export { classifyStagedKey, formatOf, normalizeEtag, parseNotification, type AnnouncedObject, type BulkCompression, type BulkFormat, type StagedObject } from './objects.js';
export { unpackToFile, UnpackError, type InflateLimits } from './unpack.js';
export { avroToNdjson } from './avro.js';
export { orcToParquet, type OrcConverter } from './orc.js';
