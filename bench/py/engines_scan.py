"""Times one aggregate scan of a table through Atoll's REST catalog and of the same Parquet files read directly, in one
engine process, alternating the two so machine noise hits both alike (the engines benchmark, bench/engines.bench.ts).

Reads one JSON request from stdin (secrets stay out of argv):
  {"engine": "duckdb", "catalog_uri", "token_url", "client_id", "client_secret", "table": "ns.name",
   "files": [s3 URIs], "s3": {"endpoint": host:port, "region", "key_id", "secret"}, "threads", "memory_limit", "repeats"}
  {"engine": "spark", "catalog_uri", "token", "jars", "table", "files": [s3a URIs], "s3": {...}, "repeats"}
Both sides run `SELECT count(*), sum(amount), max(purchased_at)`; prints {"catalog": [s], "direct": [s], "answers": …}.
"""

import json
import sys
import time


def duckdb_scan(req):
    sys.path.insert(0, req["interop_dir"])
    import duckdb_client

    con = duckdb_client.connect()
    con.execute(f"SET threads = {int(req['threads'])}")
    con.execute(f"SET memory_limit = {duckdb_client.quote(req['memory_limit'])}")
    q = duckdb_client.quote
    con.execute(
        f"CREATE SECRET atoll_catalog (TYPE iceberg, CLIENT_ID {q(req['client_id'])}, CLIENT_SECRET {q(req['client_secret'])}, "
        f"OAUTH2_SERVER_URI {q(req['token_url'])}, OAUTH2_SCOPE 'openid')"
    )
    con.execute(
        f"ATTACH 'atoll' AS atoll (TYPE iceberg, ENDPOINT {q(req['catalog_uri'])}, SECRET atoll_catalog, ACCESS_DELEGATION_MODE 'vended_credentials')"
    )
    s3 = req["s3"]
    # The direct side's own key, scoped to the bucket the files are in (the catalog side uses vended ones).
    con.execute(
        f"CREATE SECRET direct_key (TYPE s3, KEY_ID {q(s3['key_id'])}, SECRET {q(s3['secret'])}, REGION {q(s3['region'])}, "
        f"ENDPOINT {q(s3['endpoint'])}, URL_STYLE 'path', USE_SSL false, SCOPE {q(s3['scope'])})"
    )
    files = "[" + ", ".join(q(f) for f in req["files"]) + "]"
    agg = "count(*) AS n, sum(amount) AS total, max(purchased_at) AS latest"
    catalog_sql = f"SELECT {agg} FROM atoll.{req['table']}"
    direct_sql = f"SELECT {agg} FROM read_parquet({files})"
    return timed(lambda: con.execute(catalog_sql).fetchall(), lambda: con.execute(direct_sql).fetchall(), req["repeats"])


def spark_scan(req):
    from pyspark.sql import SparkSession

    s3 = req["s3"]
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("atoll-bench-engines")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.jars", req["jars"])
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .config("spark.sql.catalog.atoll", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.atoll.type", "rest")
        .config("spark.sql.catalog.atoll.uri", req["catalog_uri"])
        .config("spark.sql.catalog.atoll.token", req["token"])
        .config("spark.sql.catalog.atoll.header.X-Iceberg-Access-Delegation", "vended-credentials")
        .config("spark.sql.catalog.atoll.io-impl", "org.apache.iceberg.aws.s3.S3FileIO")
        # The direct side reads the same objects with Hadoop's S3A and a static key.
        .config("spark.hadoop.fs.s3a.endpoint", "http://" + s3["endpoint"])
        .config("spark.hadoop.fs.s3a.endpoint.region", s3["region"])
        .config("spark.hadoop.fs.s3a.path.style.access", "true")
        .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
        .config("spark.hadoop.fs.s3a.access.key", s3["key_id"])
        .config("spark.hadoop.fs.s3a.secret.key", s3["secret"])
        .config("spark.hadoop.fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    agg = "count(*) AS n, CAST(sum(amount) AS STRING) AS total, CAST(max(purchased_at) AS STRING) AS latest"
    direct = spark.read.parquet(*req["files"])
    direct.createOrReplaceTempView("direct_files")

    def run(sql):
        return [tuple(r) for r in spark.sql(sql).collect()]

    try:
        return timed(lambda: run(f"SELECT {agg} FROM atoll.{req['table']}"), lambda: run(f"SELECT {agg} FROM direct_files"), req["repeats"])
    finally:
        spark.stop()


def timed(catalog, direct, repeats):
    out = {"catalog": [], "direct": [], "answers": {}}
    # One untimed run of each warms the engine (JIT, connection pools, extension state) for both sides alike.
    out["answers"]["catalog"] = [str(v) for v in catalog()[0]]
    out["answers"]["direct"] = [str(v) for v in direct()[0]]
    for _ in range(repeats):
        for side, fn in (("direct", direct), ("catalog", catalog)):
            start = time.perf_counter()
            fn()
            out[side].append(time.perf_counter() - start)
    return out


def main():
    req = json.load(sys.stdin)
    result = duckdb_scan(req) if req["engine"] == "duckdb" else spark_scan(req)
    print(json.dumps(result))


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - the bench reports the failure
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)[:2000]}))
        sys.exit(3)
