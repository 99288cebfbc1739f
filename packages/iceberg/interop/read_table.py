"""Reads an Atoll-written Iceberg table with PyIceberg and prints its schema and rows as JSON (interop proof).

Usage: read_table.py <metadata.json location | table location (resolved through metadata/version-hint.text)>
                     [--filter <PyIceberg row filter, e.g. "id >= 10">]
"""

import argparse
import base64
import datetime
import decimal
import json

from pyiceberg.table import StaticTable


def to_json_value(value):
    # Stable, lossless text forms so the TypeScript side can compare exactly.
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
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
    table = StaticTable.from_metadata(args.location)
    schema = table.schema()
    scan = table.scan(row_filter=args.filter) if args.filter else table.scan()
    arrow = scan.to_arrow()
    rows = [{key: to_json_value(val) for key, val in row.items()} for row in arrow.to_pylist()]
    snapshot = table.current_snapshot()
    print(
        json.dumps(
            {
                "metadata_location": table.metadata_location,
                "format_version": table.metadata.format_version,
                "fields": [
                    {"id": f.field_id, "name": f.name, "type": str(f.field_type), "required": f.required}
                    for f in schema.fields
                ],
                "arrow_types": {field.name: str(field.type) for field in arrow.schema},
                "snapshot_id": str(snapshot.snapshot_id) if snapshot else None,
                "snapshot_count": len(table.metadata.snapshots),
                "summary": dict(snapshot.summary.additional_properties) | {"operation": snapshot.summary.operation.value}
                if snapshot
                else None,
                "files": sorted(task.file.file_path for task in scan.plan_files()),
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
