# The PyIceberg baseline of the ingest benchmark: read the same CSV or Parquet file with PyArrow, create an Iceberg
# table in a SqlCatalog (sqlite, local-filesystem warehouse) and append it as one snapshot. Prints JSON with the
# seconds spent from reading the input to the committed snapshot (interpreter start-up and imports excluded).
import json
import sys
import time

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog

warehouse, path, fmt, name = sys.argv[1:5]
catalog = SqlCatalog("bench", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}")

start = time.perf_counter()
if fmt == "csv":
    table = pcsv.read_csv(
        path,
        convert_options=pcsv.ConvertOptions(
            column_types={
                "user_id": pa.string(),
                "category": pa.string(),
                "amount": pa.decimal128(12, 2),
                "quantity": pa.int64(),
                "score": pa.float64(),
                "returned": pa.bool_(),
                "purchased_at": pa.timestamp("us", tz="UTC"),
            }
        ),
    )
    # Same column types as Atoll's raw table: timestamp without zone (UTC).
    table = table.set_column(6, "purchased_at", table.column("purchased_at").cast(pa.timestamp("us")))
else:
    table = pq.read_table(path)
catalog.create_namespace_if_not_exists("bench")
iceberg_table = catalog.create_table(f"bench.{name}", schema=table.schema)
iceberg_table.append(table)
elapsed = time.perf_counter() - start

snapshot = iceberg_table.current_snapshot()
print(json.dumps({"seconds": elapsed, "records": int(snapshot.summary["total-records"]) if snapshot else 0}))
