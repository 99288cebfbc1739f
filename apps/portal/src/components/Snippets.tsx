// Copy-ready code to read a cleanroom table with stock engines, as docs/iceberg-rest.md documents them: DuckDB by
// path with the cleanroom's own S3 key, PyIceberg and Spark through the catalog with the consumer's API key. Keys come
// from the environment, never pasted into the snippet: snippets get shared, secrets should not.
export interface SnippetTarget {
  apiUrl: string;
  tokenUrl: string;
  endpoint: string;
  region: string;
  bucket: string;
  cleanroomId: string;
  table: string;
}

export function snippets(t: SnippetTarget): Array<{ engine: string; code: string }> {
  const host = t.endpoint.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const ssl = t.endpoint.startsWith('https') ? 'true' : 'false';
  const ident = `cr_${t.cleanroomId.replaceAll('-', '')}.${t.table}`;
  return [
    {
      engine: 'DuckDB',
      code: `LOAD httpfs; LOAD avro; LOAD iceberg;
CREATE SECRET cleanroom (TYPE s3, KEY_ID getenv('ATOLL_CR_KEY_ID'), SECRET getenv('ATOLL_CR_SECRET'),
  REGION '${t.region}', ENDPOINT '${host}', URL_STYLE 'path', USE_SSL ${ssl});
SELECT * FROM iceberg_scan('s3://${t.bucket}/${t.table}') LIMIT 10;`,
    },
    {
      engine: 'PyIceberg',
      code: `import os
from pyiceberg.catalog import load_catalog
catalog = load_catalog("atoll", **{
    "type": "rest",
    "uri": "${t.apiUrl}/iceberg",
    "credential": f"{os.environ['ATOLL_CLIENT_ID']}:{os.environ['ATOLL_CLIENT_SECRET']}",
    "oauth2-server-uri": "${t.tokenUrl}",
    "scope": "openid",
    "header.X-Iceberg-Access-Delegation": "vended-credentials",
})
# pyarrow comes with pyiceberg[pyarrow]; .to_pandas() needs pandas as well
print(catalog.load_table("${ident}").scan(limit=10).to_arrow())`,
    },
    {
      engine: 'Spark',
      code: `# spark-defaults.conf (Spark 4.0, iceberg-spark-runtime-4.0_2.13 and iceberg-aws-bundle 1.10 on the classpath)
spark.sql.extensions                                        org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions
spark.sql.catalog.atoll                                     org.apache.iceberg.spark.SparkCatalog
spark.sql.catalog.atoll.type                                rest
spark.sql.catalog.atoll.uri                                 ${t.apiUrl}/iceberg
spark.sql.catalog.atoll.credential                          <clientId>:<clientSecret>
spark.sql.catalog.atoll.oauth2-server-uri                   ${t.tokenUrl}
spark.sql.catalog.atoll.scope                               openid
spark.sql.catalog.atoll.header.X-Iceberg-Access-Delegation  vended-credentials
spark.sql.catalog.atoll.io-impl                             org.apache.iceberg.aws.s3.S3FileIO

# then, in spark-sql
SELECT * FROM atoll.${ident} LIMIT 10;`,
    },
  ];
}

export function Snippets(props: SnippetTarget) {
  return (
    <section aria-labelledby="snippets-h">
      <h2 id="snippets-h">Read this table</h2>
      <p className="muted">
        DuckDB uses the cleanroom&apos;s S3 key (<code>ATOLL_CR_KEY_ID</code>, <code>ATOLL_CR_SECRET</code>); PyIceberg and Spark use your organisation&apos;s API
        key through the catalog.
      </p>
      {snippets(props).map((s) => (
        <figure key={s.engine} className="snippet">
          <figcaption>{s.engine}</figcaption>
          <pre tabIndex={0} aria-label={`${s.engine} snippet`}>
            <code>{s.code}</code>
          </pre>
        </figure>
      ))}
    </section>
  );
}
