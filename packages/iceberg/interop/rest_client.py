"""Talks to Atoll's Iceberg REST catalog with PyIceberg's RestCatalog (interop proof of /iceberg).

Every command asks for vended credentials (header.X-Iceberg-Access-Delegation) and brings no S3 keys of its own,
so whatever it reads or writes in storage goes through the credentials the catalog vended.

The bearer token may be `-`: then the catalog properties for OAuth2 client credentials (`credential`,
`oauth2-server-uri`, `scope`, as docs/iceberg-rest.md tells consumers) are read as a JSON object from stdin, and
PyIceberg fetches its own token.

Usage: rest_client.py <catalog uri> <bearer token> read <namespace.table>
       rest_client.py <catalog uri> <bearer token> append <namespace.table> <rows as a JSON array>
       rest_client.py <catalog uri> <bearer token> add-column <namespace.table> <column> (adds an optional string)
       rest_client.py <catalog uri> <bearer token> list-namespaces [<parent>]
Prints one JSON object; on failure {"error": <exception type>, "message": ...} and exit status 3.
"""

import argparse
import datetime
import decimal
import json
import sys

import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.types import StringType


def to_json_value(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, int) and abs(value) > 2**53:
        return str(value)
    return value


def catalog(uri, token):
    properties = {"uri": uri, "header.X-Iceberg-Access-Delegation": "vended-credentials"}
    if token == "-":
        properties.update(json.load(sys.stdin))
    else:
        properties["token"] = token
    return RestCatalog("atoll", **properties)


def describe(table):
    snapshot = table.current_snapshot()
    return {
        "metadata_location": table.metadata_location,
        "snapshot_id": str(snapshot.snapshot_id) if snapshot else None,
        "snapshot_count": len(table.metadata.snapshots),
        "fields": [
            {"id": f.field_id, "name": f.name, "type": str(f.field_type), "required": f.required}
            for f in table.schema().fields
        ],
        # Only whether the catalog vended keys, never the keys themselves.
        "vended": sorted(k for k in table.io.properties if k.startswith("s3.") and "secret" not in k and "token" not in k)
        + (["s3.session-token"] if "s3.session-token" in table.io.properties else []),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("uri")
    parser.add_argument("token")
    sub = parser.add_subparsers(dest="command", required=True)
    read = sub.add_parser("read")
    read.add_argument("table")
    append = sub.add_parser("append")
    append.add_argument("table")
    append.add_argument("rows")
    add_column = sub.add_parser("add-column")
    add_column.add_argument("table")
    add_column.add_argument("column")
    ls = sub.add_parser("list-namespaces")
    ls.add_argument("parent", nargs="?", default=None)
    args = parser.parse_args()

    cat = catalog(args.uri, args.token)
    if args.command == "list-namespaces":
        namespaces = cat.list_namespaces(args.parent) if args.parent else cat.list_namespaces()
        out = {"namespaces": [list(ns) for ns in namespaces]}
    elif args.command == "read":
        table = cat.load_table(args.table)
        arrow = table.scan().to_arrow()
        out = describe(table) | {
            "arrow_types": {field.name: str(field.type) for field in arrow.schema},
            "rows": [{k: to_json_value(v) for k, v in row.items()} for row in arrow.to_pylist()],
        }
    elif args.command == "add-column":
        table = cat.load_table(args.table)
        with table.update_schema() as update:
            update.add_column(args.column, StringType())
        out = describe(table)
    else:
        table = cat.load_table(args.table)
        arrow_schema = table.schema().as_arrow()
        rows = json.loads(args.rows)
        # JSON has no dates or timestamps: ISO strings become the Python values pyarrow expects.
        for field in arrow_schema:
            parse = (
                datetime.datetime.fromisoformat
                if pa.types.is_timestamp(field.type)
                else datetime.date.fromisoformat
                if pa.types.is_date(field.type)
                else None
            )
            if parse:
                for row in rows:
                    if row.get(field.name) is not None:
                        row[field.name] = parse(row[field.name])
        data = pa.Table.from_pylist(rows, schema=arrow_schema)
        table.append(data)
        out = describe(table)
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - the caller asserts on the exception type
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
        sys.exit(3)
