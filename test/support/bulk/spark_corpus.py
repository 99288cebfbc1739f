"""Adds Spark-written Parquet and ORC files to the bulk-ingest corpus: stock Spark 4.0 (local[1], no Atoll code, no
catalog), its default writers — Parquet with INT96 timestamps, ORC with its own timestamp encoding — one part file
each. Usage: spark_corpus.py OUT_DIR (after make_corpus.py: it adds to good/ and expected.json)."""
import glob
import json
import os
import shutil
import sys

from pyspark.sql import SparkSession
from pyspark.sql.types import BooleanType, DateType, DecimalType, LongType, StringType, StructField, StructType, TimestampType

from corpus_rows import COLUMNS, expectation, rows

OUT = sys.argv[1]
SCHEMA = StructType([
    StructField("user_id", StringType()),
    StructField("amount", DecimalType(12, 2)),
    StructField("qty", LongType()),
    StructField("ok", BooleanType()),
    StructField("day", DateType()),
    StructField("at", TimestampType()),
    StructField("note", StringType()),
])

spark = (
    SparkSession.builder.master("local[1]")
    .appName("atoll-bulk-corpus")
    .config("spark.driver.memory", "512m")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.session.timeZone", "UTC")
    .getOrCreate()
)
with open(os.path.join(OUT, "expected.json")) as f:
    expected = json.load(f)
for n, (name, fmt) in enumerate([("spark.parquet", "parquet"), ("spark.orc", "orc")]):
    rs = rows(100_000 + 1000 * n, 60 + n)
    df = spark.createDataFrame([tuple(r[c] for c in COLUMNS) for r in rs], SCHEMA).coalesce(1)
    target = os.path.join(OUT, "spark-out", fmt)
    df.write.mode("overwrite").format(fmt).save(target)
    (part,) = glob.glob(os.path.join(target, f"part-*.{fmt}")) or glob.glob(os.path.join(target, "part-*"))
    shutil.copyfile(part, os.path.join(OUT, "good", name))
    expected[name] = expectation(rs)
spark.stop()
shutil.rmtree(os.path.join(OUT, "spark-out"), ignore_errors=True)
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f)
