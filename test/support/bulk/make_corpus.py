"""Writes the bulk-ingest test corpus with independent tools (Python's csv, gzip, bz2, zipfile; pyarrow for Parquet
and ORC; fastavro).

Usage: make_corpus.py OUT_DIR. Writes good/ and bad/ files plus expected.json (per good file: rows, the exact decimal
sum and every timestamp to the microsecond), so the test compares what Atoll loaded with what these tools wrote.
"""
import bz2
import csv
import gzip
import io
import json
import os
import sys
import zipfile

import fastavro
import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq

from corpus_rows import COLUMNS, expectation, iso, rows

OUT = sys.argv[1]


def csv_bytes(rs, header=COLUMNS):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rs:
        w.writerow([{"ok": str(r["ok"]).lower(), "at": iso(r["at"]), "day": r["day"].isoformat()}.get(c, r[c]) for c in header])
    return buf.getvalue().encode("utf-8")


def arrow_table(rs, at_type=pa.timestamp("us", tz="UTC")):
    return pa.table({
        "user_id": pa.array([r["user_id"] for r in rs], pa.string()),
        "amount": pa.array([r["amount"] for r in rs], pa.decimal128(12, 2)),
        "qty": pa.array([r["qty"] for r in rs], pa.int64()),
        "ok": pa.array([r["ok"] for r in rs], pa.bool_()),
        "day": pa.array([r["day"] for r in rs], pa.date32()),
        "at": pa.array([r["at"] if at_type.tz else r["at"].replace(tzinfo=None) for r in rs], at_type),
        "note": pa.array([r["note"] for r in rs], pa.string()),
    })


def parquet_bytes(rs):
    buf = io.BytesIO()
    pq.write_table(arrow_table(rs), buf)
    return buf.getvalue()


def orc_bytes(rs, compression="uncompressed", at_type=pa.timestamp("us", tz="UTC"), table=None):
    # A UTC timestamp becomes ORC "timestamp with local time zone"; a zone-less one ORC "timestamp" (a wall clock).
    buf = io.BytesIO()
    orc.write_table(table if table is not None else arrow_table(rs, at_type), buf, compression=compression)
    return buf.getvalue()


AVRO_SCHEMA = {
    "type": "record", "name": "purchase", "fields": [
        {"name": "user_id", "type": "string"},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
        {"name": "qty", "type": "long"},
        {"name": "ok", "type": "boolean"},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
        {"name": "note", "type": "string"},
    ],
}


def avro_bytes(rs, schema=AVRO_SCHEMA):
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), rs)
    return buf.getvalue()


def zip_bytes(name, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


def write(path, data):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


expected = {}
good = [
    ("purchases.csv", lambda rs: csv_bytes(rs)),
    ("purchases.csv.gz", lambda rs: gzip.compress(csv_bytes(rs))),
    ("purchases.csv.bz2", lambda rs: bz2.compress(csv_bytes(rs))),
    ("purchases.csv.zip", lambda rs: zip_bytes("export/purchases.csv", csv_bytes(rs))),
    # Columns in another order than the schema: the header decides.
    ("reordered.csv", lambda rs: csv_bytes(rs, ["at", "note", "user_id", "qty", "day", "ok", "amount"])),
    ("purchases.parquet", parquet_bytes),
    ("purchases.parquet.gz", lambda rs: gzip.compress(parquet_bytes(rs))),
    ("purchases.avro", avro_bytes),
    ("purchases.avro.bz2", lambda rs: bz2.compress(avro_bytes(rs))),
    ("purchases.orc", orc_bytes),
    ("purchases.orc.gz", lambda rs: gzip.compress(orc_bytes(rs))),
    ("purchases.orc.zip", lambda rs: zip_bytes("export/purchases.orc", orc_bytes(rs))),
    # ORC's own compression inside the file, and zone-less timestamps (read as UTC, like CSV without an offset).
    ("zstd_wallclock.orc", lambda rs: orc_bytes(rs, compression="zstd", at_type=pa.timestamp("us"))),
]
for n, (name, make) in enumerate(good):
    rs = rows(1000 * (n + 1), 40 + n)
    write(f"good/{name}", make(rs))
    expected[name] = expectation(rs)

base = rows(1, 5)
good_csv = csv_bytes(base).decode()
write("bad/unbalanced_quote.csv", (good_csv + 'user-001,1.00,9,true,2026-01-01,2026-01-01T00:00:00Z,"never closed\n').encode())
write("bad/wrong_type.csv", good_csv.replace(",3,", ",three,", 1).encode())
write("bad/bad_timestamp.csv", (good_csv + "user-001,1.00,9,true,2026-01-01,yesterday at noon,x\n").encode())
write("bad/invalid_utf8.csv", good_csv.encode() + b"user-001,1.00,9,true,2026-01-01,2026-01-01T00:00:00Z,caf\xe9 \xff\n")
write("bad/missing_column.csv", csv_bytes(base, ["user_id", "amount", "ok", "day", "at", "note"]))
write("bad/empty.csv", b"")
pq_full = parquet_bytes(base)
write("bad/truncated.parquet", pq_full[: len(pq_full) // 2])
gz_full = gzip.compress(csv_bytes(rows(1, 2000)))
write("bad/corrupt.csv.gz", gz_full[:20] + bytes(range(256)) * 8 + gz_full[-100:])
write("bad/climb.csv.zip", zip_bytes("../../etc/evil.csv", csv_bytes(base)))
write("bad/two_files.csv.zip", (lambda: (lambda buf: (lambda z: (z.writestr("a.csv", csv_bytes(base)), z.writestr("b.csv", csv_bytes(base)), z.close(), buf.getvalue())[-1])(zipfile.ZipFile(buf, "w")))(io.BytesIO()))())
write("bad/claims.orc", b"ORC" + b"\x00" * 64)
orc_full = orc_bytes(rows(1, 500))
write("bad/truncated.orc", orc_full[: len(orc_full) // 2])
orc_typed = arrow_table(base)
write("bad/wrong_type.orc", orc_bytes(None, table=orc_typed.set_column(2, "qty", pa.array(["1", "2", "three", "4", "5"], pa.string()))))
# Nanoseconds in the 4th row: the table keeps microseconds, so the file is refused rather than truncated.
ns_values = [int(r["at"].timestamp()) * 1_000_000_000 + (7 if i == 3 else 0) for i, r in enumerate(base)]
write("bad/nanos.orc", orc_bytes(None, table=orc_typed.set_column(5, "at", pa.array(ns_values, pa.timestamp("ns", tz="UTC")))))
write("bad/corrupt.avro", avro_bytes(base)[:-30] + b"\x00" * 30)
# A gzip bomb: 1 GiB of zeros after a valid header line, about 1 MB compressed.
with gzip.open(os.path.join(OUT, "bad/bomb.csv.gz"), "wb", compresslevel=9) as f:
    f.write(",".join(COLUMNS).encode() + b"\n")
    chunk = b"\x00" * (8 * 1024 * 1024)
    for _ in range(128):
        f.write(chunk)
write("bad/loose.csv", csv_bytes(base))
write("bad/unknown_table.csv", csv_bytes(base))

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f)
