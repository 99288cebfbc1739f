"""Reads Atoll's Iceberg tables with stock DuckDB (interop proof of /iceberg and of path-based cleanroom reads).

DuckDB runs as a consumer would run it: the pip wheels' httpfs, iceberg and avro extensions are LOADed from the venv,
and extension auto-install/auto-load are off, so nothing is fetched at run time.

Reads one JSON request from stdin (so client secrets and keys never show in a process list):
  {"mode": "catalog", "endpoint": <catalog uri>, "oauth2_server_uri": <token endpoint>, "client_id", "client_secret",
   "oauth2_scope", "queries": [<sql>, ...]}
      CREATE SECRET (TYPE iceberg, OAuth2 client credentials) + ATTACH (TYPE iceberg, vended credentials) as `atoll`,
      then lists every table DuckDB sees in it and runs each query.
  {"mode": "path", "s3_endpoint": <host:port>, "region", "key_id", "secret", "queries": [<sql>, ...]}
      CREATE SECRET (TYPE s3, path-style, no TLS) with a static key, then runs each query (e.g. iceberg_scan('s3://…')).
Prints one JSON object: {"tables": [[schema, table], ...] (catalog mode), "results": [{"columns", "rows"} or
{"error": <exception type>, "message"}]}; a failure before the queries prints {"error", "message"} and exits 3.
"""

import datetime
import decimal
import importlib.util
import json
import os
import sys

import duckdb


def to_json_value(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, int) and abs(value) > 2**53:
        return str(value)
    return value


def quote(text):
    return "'" + str(text).replace("'", "''") + "'"


def extension_dir():
    """Where the duckdb-ext-* wheels put the extension files for this DuckDB version and platform."""
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the duckdb-ext-* wheels are not installed in this venv")
    platform = duckdb.sql("PRAGMA platform").fetchone()[0]
    for base in spec.submodule_search_locations:
        path = os.path.join(base, "extensions", f"v{duckdb.__version__}", platform)
        if os.path.isdir(path):
            return path
    raise RuntimeError(f"no extensions for DuckDB v{duckdb.__version__} on {platform} in the duckdb-ext wheels")


def connect():
    con = duckdb.connect(config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"})
    directory = extension_dir()
    for name in ("httpfs", "avro", "iceberg"):
        con.execute(f"LOAD {quote(os.path.join(directory, name + '.duckdb_extension'))}")
    # Timestamps with time zone print in UTC whatever the machine's zone.
    con.execute("SET TimeZone = 'UTC'")
    return con


def run_queries(con, queries):
    results = []
    for sql in queries:
        try:
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description]
            rows = [{c: to_json_value(v) for c, v in zip(columns, row)} for row in cursor.fetchall()]
            results.append({"columns": columns, "rows": rows})
        except duckdb.Error as exc:
            results.append({"error": type(exc).__name__, "message": str(exc)})
    return results


def main():
    request = json.load(sys.stdin)
    con = connect()
    out = {}
    if request["mode"] == "catalog":
        con.execute(
            "CREATE SECRET atoll_catalog (TYPE iceberg, CLIENT_ID {}, CLIENT_SECRET {}, OAUTH2_SERVER_URI {}, OAUTH2_SCOPE {})".format(
                quote(request["client_id"]),
                quote(request["client_secret"]),
                quote(request["oauth2_server_uri"]),
                quote(request["oauth2_scope"]),
            )
        )
        con.execute(
            "ATTACH 'atoll' AS atoll (TYPE iceberg, ENDPOINT {}, SECRET atoll_catalog, ACCESS_DELEGATION_MODE 'vended_credentials')".format(
                quote(request["endpoint"])
            )
        )
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'atoll' ORDER BY 1, 2"
        ).fetchall()
        out["tables"] = [list(t) for t in tables]
    elif request["mode"] == "path":
        con.execute(
            "CREATE SECRET cleanroom_key (TYPE s3, KEY_ID {}, SECRET {}, REGION {}, ENDPOINT {}, URL_STYLE 'path', USE_SSL false)".format(
                quote(request["key_id"]), quote(request["secret"]), quote(request["region"]), quote(request["s3_endpoint"])
            )
        )
    else:
        raise ValueError(f"unknown mode {request['mode']!r}")
    out["results"] = run_queries(con, request.get("queries", []))
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - the caller asserts on the exception type
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
        sys.exit(3)
