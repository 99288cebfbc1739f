// Public surface of @atoll/iceberg: Iceberg v2 tables written by Atoll (schemas, metadata, manifests, commits, catalog).
export * from './errors.js';
export type { ColumnType, IcebergSchema, IcebergType, ListType, MapType, NestedField, PrimitiveType, StructType } from './types.js';
export { decimalParams, highestFieldId, isAllowedPromotion, parsePrimitiveType, parseSchema, parseType, validateSchema } from './types.js';
export type { ColumnDefinition } from './schema.js';
export { duckdbColumnType, duckdbFieldIds, duckdbSelectList, findColumn, icebergSchemaFromColumns, quoteIdentifier } from './schema.js';
export type { PrimitiveValue } from './conversions.js';
export { formatDecimal, formatTimestamp, fromBinary, normalizeValue, parseDate, parseTimestampMicros, toBinary } from './conversions.js';
export type { Transform } from './transforms.js';
export { applyTransform, bucketHash, murmur3x86_32, parseTransform, transformResultType } from './transforms.js';
export type { PartitionField, PartitionFieldInput, PartitionSpec, PartitionValue } from './partition.js';
export { UNPARTITIONED_SPEC, buildPartitionSpec, partitionForRow, resolvePartitionSpec } from './partition.js';
export type { MetadataLogEntry, Snapshot, SnapshotLogEntry, SnapshotOperation, SnapshotRef, SortField, SortOrder, TableMetadata } from './metadata.js';
export {
  ancestors,
  currentSchema,
  currentSnapshot,
  defaultSpec,
  metadataVersion,
  newTableMetadata,
  newSnapshotId,
  parseTableMetadata,
  serializeTableMetadata,
  snapshotById,
  tableMetadataToJson,
} from './metadata.js';
export { parseJson, stringifyJson } from './json.js';
export type { DataFile, FieldSummary, ManifestEntry, ManifestFile } from './manifest.js';
export { MANIFEST_LIST_SCHEMA, decodeManifest, decodeManifestList, encodeManifest, encodeManifestList, manifestEntrySchema } from './manifest.js';
export { readAvroFile } from './avro.js';
export type { DataFileFromParquetOptions } from './stats.js';
export { dataFileFromParquet } from './stats.js';
export type { ObjectIO, ObjectListing } from './io.js';
export { LocalFileIO, deleteQuietly, fileUri } from './io.js';
export type { CatalogEntryKind, CatalogStore, RenameOutcome, TableIdentifier, ViewCatalogStore } from './catalog-store.js';
export { MemoryCatalogStore, MemoryViewCatalogStore, PgCatalogStore, PgViewCatalogStore, TransactionalPgCatalogStore, formatIdentifier } from './catalog-store.js';
export type { SwapHook } from './catalog-store.js';
export type { CreateTableOptions, LoadedTable } from './table-lifecycle.js';
export { createTable, dataLocation, dropTable, loadTable, newDataFileUri, readTableMetadata, versionHintLocation, writeVersionHint } from './table-lifecycle.js';
export { planChanges, planFiles, readManifestEntries, readManifestList, snapshotSchema } from './scan.js';
export { COMMIT_ID_SUMMARY_KEY } from './summaries.js';
export type { AppendFilesOptions, CommitResult, OverwriteFilesOptions } from './snapshot-producers.js';
export { appendFiles, overwriteFiles } from './snapshot-producers.js';
export type { VersionHintMode } from './version-hints.js';
export { flushVersionHints, onVersionHintFailure } from './version-hints.js';
export type { CommitAttempt, CommitAttemptContext, CommitOutcome, CommitTableUpdatesOptions, CommitWithRetryOptions } from './commit.js';
export { checkSnapshotFileLocations, commitTableUpdates, commitWithRetry, isUnderLocation } from './commit.js';
export type { TableRequirement, TableUpdate, UnboundPartitionSpec } from './updates.js';
export {
  LOCATION_PROPERTIES,
  addedSnapshots,
  applyUpdates,
  bindPartitionSpec,
  checkProperties,
  checkSchemaEvolution,
  checkSortFields,
  failedRequirement,
  parseTableRequirement,
  parseTableUpdate,
  parseSortFields,
  parseUnboundPartitionSpec,
} from './updates.js';
export type { SchemaChange, UpdateSchemaOptions, UpdateSchemaResult } from './evolution.js';
export { SCHEMA_COMMIT_ID_PROPERTY, evolveSchema, updateSchema } from './evolution.js';
export type { DuckdbPartitionExpression, PartitionedParquetFile } from './duckdb-write.js';
export { duckdbPartitionExpressions, duckdbReadParquet, writePartitionedParquet } from './duckdb-write.js';
export type { ExpireSnapshotsOptions, RemoveOrphanFilesOptions, RewriteManifestsOptions } from './maintenance.js';
export { expireSnapshots, removeOrphanFiles, rewriteManifests } from './maintenance.js';
export type { ViewHistoryEntry, ViewMetadata, ViewRepresentation, ViewRequirement, ViewUpdate, ViewVersion } from './view-metadata.js';
export {
  REPLACE_DROP_DIALECT_ALLOWED,
  applyViewUpdates,
  currentViewVersion,
  failedViewRequirement,
  newViewMetadata,
  parseViewMetadata,
  parseViewRequirement,
  parseViewUpdate,
  parseViewVersion,
  serializeViewMetadata,
  viewMetadataToJson,
} from './view-metadata.js';
export type { CreateViewOptions, LoadedView } from './view-lifecycle.js';
export { commitViewUpdates, createView, dropView, loadView, readViewMetadata } from './view-lifecycle.js';
