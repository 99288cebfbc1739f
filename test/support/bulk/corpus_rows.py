"""The rows of the bulk-ingest corpus (purchases), shared by every independent writer of it: make_corpus.py (Python's
csv, pyarrow, fastavro) and spark_corpus.py (Spark). expectation() is what the test compares Atoll's tables with."""
import datetime as dt
import decimal

COLUMNS = ["user_id", "amount", "qty", "ok", "day", "at", "note"]
EPOCH = dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone.utc)


def rows(offset, n):
    out = []
    for i in range(n):
        k = offset + i
        out.append({
            "user_id": f"user-{k % 37:03d}",
            "amount": decimal.Decimal(k * 7919 % 1000000) / 100 - decimal.Decimal("2500.00"),
            "qty": k,
            "ok": k % 3 == 0,
            "day": dt.date(2026, 1, 1) + dt.timedelta(days=k % 400),
            "at": EPOCH + dt.timedelta(seconds=k * 61, microseconds=k * 7),
            "note": f"note, \"quoted\" {k}" if k % 5 == 0 else f"plain {k}",
        })
    return out


def iso(ts):
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def expectation(rs):
    return {
        "rows": len(rs),
        "amountSum": str(sum(r["amount"] for r in rs)),
        "timestamps": sorted(iso(r["at"]) for r in rs),
        "qtys": sorted(r["qty"] for r in rs),
    }
