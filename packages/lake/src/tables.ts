// Where Atoll's tables live and what they are called: raw (internal), published (datasets) and cleanroom tables.
import type { TableIdentifier } from '@atoll/iceberg';

export function rawTableId(providerId: string, table: string): TableIdentifier {
  return { namespace: ['raw'], name: `${table}__${providerId.replaceAll('-', '')}` };
}

export function publishedTableId(dataset: string): TableIdentifier {
  return { namespace: ['published'], name: dataset };
}

export function cleanroomTableId(cleanroomId: string, table: string): TableIdentifier {
  return { namespace: ['cleanroom', cleanroomId.replaceAll('-', '')], name: table };
}

export function tableLocation(bucket: string, id: TableIdentifier): string {
  if (id.namespace[0] === 'cleanroom') return `s3://${bucket}/${id.name}`;
  return `s3://${bucket}/${[...id.namespace, id.name].join('/')}`;
}
