"""Stock Spark 4.0 with Iceberg's REST catalog against Atoll's /iceberg (interop proof; no Atoll code on this side).

The session is configured exactly as docs/engines.md tells a team to attach Spark: the REST catalog with a bearer
token and vended credentials, Iceberg's S3FileIO, no S3 keys of its own. The jars come from local paths (spark.jars)
because Spark's own resolver cannot download here.

Usage: spark_client.py <catalog uri> <bearer token> <jars, comma-separated> <namespace> <atoll table: ns.name>
It runs in two phases and speaks JSON lines on stdout:
  1. creates <namespace> and a partitioned table <namespace>.spark_events, appends, adds a column, appends again,
     reads it back, reads Atoll's table, and makes <namespace>.spark_ctas with CREATE TABLE … AS SELECT; prints {"phase": 1, ...} and waits for a line on stdin
     (meanwhile the caller checks what Spark wrote with other readers);
  2. drops the table with purge (the catalog removes its files) and the namespace; prints {"phase": 2, ...}.
On failure prints {"error": <exception type>, "message": ...} and exits with status 3.
"""

import json
import sys
import traceback

from pyspark.sql import SparkSession


def session(uri, token, jars):
    return (
        SparkSession.builder.master("local[2]")
        .appName("atoll-engines-spark")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.jars", jars)
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .config("spark.sql.catalog.atoll", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.atoll.type", "rest")
        .config("spark.sql.catalog.atoll.uri", uri)
        .config("spark.sql.catalog.atoll.token", token)
        .config("spark.sql.catalog.atoll.header.X-Iceberg-Access-Delegation", "vended-credentials")
        .config("spark.sql.catalog.atoll.io-impl", "org.apache.iceberg.aws.s3.S3FileIO")
        .config("spark.sql.defaultCatalog", "atoll")
        .getOrCreate()
    )


def rows(df):
    return [r.asDict() for r in df.collect()]


def main():
    uri, token, jars, namespace, atoll_table = sys.argv[1:6]
    spark = session(uri, token, jars)
    spark.sparkContext.setLogLevel("ERROR")
    table = f"atoll.{namespace}.spark_events"
    spark.sql(f"CREATE NAMESPACE atoll.{namespace}")
    spark.sql(
        f"CREATE TABLE {table} (id BIGINT NOT NULL, country STRING, amount DOUBLE) USING iceberg PARTITIONED BY (country)"
    )
    spark.sql(f"INSERT INTO {table} VALUES (1, 'fr', 1.5), (2, 'fr', 2.5), (3, 'nz', 3.0)")
    spark.sql(f"ALTER TABLE {table} ADD COLUMN note STRING")
    spark.sql(f"INSERT INTO {table} VALUES (4, 'nz', 4.25, 'after add column'), (5, 'de', NULL, 'second')")
    written = rows(spark.sql(f"SELECT id, country, amount, note FROM {table} ORDER BY id"))
    partitions = sorted(r["country"] for r in rows(spark.sql(f"SELECT partition.country AS country FROM {table}.partitions")))
    tables = sorted(r["tableName"] for r in rows(spark.sql(f"SHOW TABLES IN atoll.{namespace}")))
    atoll_rows = rows(spark.sql(f"SELECT * FROM atoll.{atoll_table}"))
    # CREATE TABLE … AS SELECT goes through a staged create: data files first, then one commit that creates the table.
    spark.sql(f"CREATE TABLE atoll.{namespace}.spark_ctas USING iceberg AS SELECT id, country FROM {table} WHERE country = 'nz'")
    ctas_rows = rows(spark.sql(f"SELECT id, country FROM atoll.{namespace}.spark_ctas ORDER BY id"))
    location = rows(spark.sql(f"DESCRIBE TABLE EXTENDED {table}").filter("col_name = 'Location'"))[0]["data_type"]
    print(json.dumps({"phase": 1, "rows": written, "partitions": partitions, "tables": tables, "atoll_rows": atoll_rows, "ctas_rows": ctas_rows, "location": location}), flush=True)

    sys.stdin.readline()
    # Spark's `DROP TABLE … PURGE` with Iceberg 1.10 deletes client-side (it drops, then deletes the reachable files
    # with the table's FileIO); vended credentials hold no delete right, so the files would stay. Iceberg's own REST
    # client asks the catalog to purge instead (DELETE …?purgeRequested=true): call it on Spark's catalog.
    jvm = spark.sparkContext._jvm
    iceberg_catalog = spark._jsparkSession.sessionState().catalogManager().catalog("atoll").icebergCatalog()
    dropped = iceberg_catalog.dropTable(jvm.org.apache.iceberg.catalog.TableIdentifier.parse(f"{namespace}.spark_events"), True)
    iceberg_catalog.dropTable(jvm.org.apache.iceberg.catalog.TableIdentifier.parse(f"{namespace}.spark_ctas"), True)
    spark.sql(f"DROP NAMESPACE atoll.{namespace}")
    namespaces = sorted(r["namespace"] for r in rows(spark.sql("SHOW NAMESPACES IN atoll")))
    print(json.dumps({"phase": 2, "dropped": dropped, "namespace_gone": namespace not in namespaces}), flush=True)
    spark.stop()


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # reported as JSON so the test shows Spark's own error
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)[:4000], "trace": traceback.format_exc()[-4000:]}), flush=True)
        sys.exit(3)
