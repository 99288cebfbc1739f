// TypeBox schemas of the Iceberg REST catalog routes (feed validation and /openapi.json). Bodies carrying table
// metadata are left open here: 64-bit snapshot ids arrive as bigint and are checked in code.
import { Type, type TSchema } from '@sinclair/typebox';

export const TAG = 'iceberg';

export const IcebergErrorResponse = Type.Object(
  {
    error: Type.Object({
      message: Type.String(),
      type: Type.String({ description: 'Iceberg exception type, e.g. NoSuchTableException, CommitFailedException' }),
      code: Type.Integer(),
    }),
  },
  { $id: 'IcebergErrorResponse', description: 'The Iceberg REST error model (not Atoll\'s { error: { code, message } })' },
);

export const icebergErrors = {
  400: IcebergErrorResponse,
  401: IcebergErrorResponse,
  403: IcebergErrorResponse,
  404: IcebergErrorResponse,
  409: IcebergErrorResponse,
};

export const Namespace = Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 8, description: 'namespace levels' });
export const Properties = Type.Record(Type.String(), Type.String());
/** The longest `{namespace}` path parameter: 8 levels of 128 characters joined by %1F is 1,045; the router's maxParamLength is this too. */
export const NAMESPACE_PARAM_MAX = 1100;
export const NamespaceParams = Type.Object({ namespace: Type.String({ minLength: 1, maxLength: NAMESPACE_PARAM_MAX, description: 'levels joined by %1F' }) });
export const TableParams = Type.Object({ namespace: NamespaceParams.properties.namespace, table: Type.String({ minLength: 1, maxLength: 128 }) });
export const TableIdentifierSchema = Type.Object({ namespace: Namespace, name: Type.String() });

export const LoadTableResult = Type.Object(
  {
    'metadata-location': Type.Optional(Type.String({ description: 'absent for a staged create (nothing is written until its commit)' })),
    metadata: Type.Object({}, { additionalProperties: true, description: 'table metadata as in vN.metadata.json' }),
    config: Type.Optional(Properties),
    'storage-credentials': Type.Optional(Type.Array(Type.Object({ prefix: Type.String(), config: Properties }))),
  },
  { description: 'with X-Iceberg-Access-Delegation: vended-credentials, config carries table-scoped S3 credentials valid for 15 minutes' },
);

export const CommitTableResult = Type.Object({
  'metadata-location': Type.String(),
  metadata: Type.Object({}, { additionalProperties: true }),
});

export const JsonObject = Type.Record(Type.String(), Type.Unknown());

/**
 * An optional field that may also arrive as JSON null: Iceberg Java serialises absent optionals as null
 * (`"location": null`, `"write-order": null`), and the spec's schemas do not forbid it. Routes treat null as absent.
 */
export const Nullable = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));

/** null → undefined, for fields declared with Nullable. */
export const orUndefined = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

export const PageQuery = {
  pageToken: Type.Optional(Type.String({ maxLength: 4096, description: 'an empty value starts paging; then the previous answer\'s next-page-token' })),
  // A string: query strings are not coerced in this scope; pagination.ts reads the number.
  pageSize: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,8}$', description: 'at most this many items, a positive integer (capped at 1000)' })),
};
export const NextPageToken = Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'present when paging was asked for; null on the last page' }));
/** The answer of the table and view list routes (ListTablesResponse in the spec). */
export const ListIdentifiersResult = Type.Object({ identifiers: Type.Array(TableIdentifierSchema), 'next-page-token': NextPageToken });
