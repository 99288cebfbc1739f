"""Reads an Iceberg table from S3 (MinIO) with PyIceberg's StaticTable and prints schema, files and rows as JSON.

Usage: read_table_s3.py <s3:// metadata.json or table location (via metadata/version-hint.text)> [--filter <expr>]
Credentials come from the environment (never the command line): ATOLL_PY_S3_ENDPOINT, ATOLL_PY_S3_REGION,
ATOLL_PY_S3_ACCESS_KEY, ATOLL_PY_S3_SECRET_KEY.
"""

import argparse
import base64
import datetime
import decimal
import json
import os

from pyiceberg.table import StaticTable


def to_json_value(value):
    # Same lossless text forms as read_table.py so the TypeScript side compares exactly.
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, int) and abs(value) > 2**53:
        return str(value)
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("location")
    parser.add_argument("--filter", default=None)
    args = parser.parse_args()
    properties = {
        "s3.endpoint": os.environ["ATOLL_PY_S3_ENDPOINT"],
        "s3.region": os.environ.get("ATOLL_PY_S3_REGION", "us-east-1"),
        "s3.access-key-id": os.environ["ATOLL_PY_S3_ACCESS_KEY"],
        "s3.secret-access-key": os.environ["ATOLL_PY_S3_SECRET_KEY"],
        "s3.force-virtual-addressing": "false",
    }
    table = StaticTable.from_metadata(args.location, properties=properties)
    scan = table.scan(row_filter=args.filter) if args.filter else table.scan()
    arrow = scan.to_arrow()
    snapshot = table.current_snapshot()
    print(
        json.dumps(
            {
                "metadata_location": table.metadata_location,
                "schema_id": table.schema().schema_id,
                "fields": [
                    {"id": f.field_id, "name": f.name, "type": str(f.field_type), "required": f.required}
                    for f in table.schema().fields
                ],
                "arrow_types": {field.name: str(field.type) for field in arrow.schema},
                "snapshot_count": len(table.metadata.snapshots),
                "operation": snapshot.summary.operation.value if snapshot else None,
                "files": sorted(task.file.file_path for task in scan.plan_files()),
                "rows": [{k: to_json_value(v) for k, v in row.items()} for row in arrow.to_pylist()],
            }
        )
    )


if __name__ == "__main__":
    main()
