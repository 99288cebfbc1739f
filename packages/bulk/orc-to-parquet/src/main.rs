//! ORC → Parquet for Atoll's bulk ingest. `atoll-orc-to-parquet INPUT.orc OUTPUT.parquet [--max-stripe-bytes N]`
//!
//! Streams stripe by stripe (memory ≈ one stripe plus one Parquet row group, both capped) and keeps every value's
//! type: decimals stay Decimal128(p,s), dates Date32, timestamps become microseconds (with their zone marker:
//! ORC `timestamp with local time zone` is UTC, plain `timestamp` is a zone-less wall clock). The strict Parquet
//! reader on the Node side then checks column names and types against the approved schema and casts.
//!
//! Exit 0: stdout is `{"rows":N}`. Exit 2: stderr is one line, the rejection reason, naming the row and column where
//! one is known and never a value or a path (a panic in the decoder is a rejection too). Anything else — killed, out
//! of memory, bad usage — is a crash, and the job retries.
use std::fs::File;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, TimestampNanosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use orc_rust::arrow_reader::ArrowReaderBuilder;
use orc_rust::schema::DataType as OrcType;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

const BATCH_ROWS: usize = 8192;
const ROW_GROUP_ROWS: usize = 128 * 1024;
/// A row group is flushed once its encoded size passes this, whatever its row count (wide string columns).
const ROW_GROUP_BYTES: usize = 64 * 1024 * 1024;
/// Writers default to 64 MiB stripes (Hive, Spark, pyarrow); the reader holds one stripe's streams in memory.
const DEFAULT_MAX_STRIPE_BYTES: u64 = 512 * 1024 * 1024;

/// A reason for the ingest report (exit 2).
struct Rejection(String);

fn rejected<T>(reason: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection(reason.into()))
}

/// orc-rust's errors carry source locations and, for some variants, raw values: only the variant's kind is shown.
/// Batches come as arrow errors wrapping the ORC one (`ExternalError(DecodeTimestamp { .. })`).
fn unreadable(e: &dyn std::fmt::Debug, after_rows: u64) -> Rejection {
    let kind = error_kind(&format!("{e:?}"));
    let at = if after_rows > 0 { format!(" (after row {after_rows})") } else { String::new() };
    Rejection(format!("not a readable ORC file{at}: {kind}"))
}

/// The debug name of an error variant ("DecodeTimestamp { .. }" → "a timestamp out of range"), in words.
fn error_kind(debug: &str) -> &'static str {
    let mut words = debug.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty());
    let mut variant = words.next().unwrap_or("");
    if variant == "ExternalError" {
        variant = words.next().unwrap_or("");
    }
    match variant {
        "EmptyFile" => "the file is empty",
        "OutOfSpec" | "DecodeProto" | "NoTypes" | "Unexpected" | "VarintTooLarge" | "OffsetOverflow" | "MismatchedSchema" => "its structure is not valid ORC",
        "DecodeTimestamp" => "a timestamp that cannot be decoded (outside the years 1677-2262, or malformed)",
        "DecodeFloat" => "a float that cannot be decoded",
        "IoError" => "it ends early (truncated?)",
        "UnsupportedTypeVariant" => "a column type this reader does not know",
        v if v.starts_with("Build") || v.contains("Decompress") || v.contains("Zstd") || v.contains("Snappy") || v.contains("Lz") || v.contains("Zlib") => {
            "a compressed block cannot be decompressed"
        }
        _ => "its data cannot be decoded",
    }
}

/// What a top-level ORC column becomes in Parquet, or why it has no table type.
fn output_type(name: &str, orc: &OrcType, arrow: &DataType) -> Result<DataType, Rejection> {
    match orc {
        OrcType::Boolean { .. }
        | OrcType::Byte { .. }
        | OrcType::Short { .. }
        | OrcType::Int { .. }
        | OrcType::Long { .. }
        | OrcType::Float { .. }
        | OrcType::Double { .. }
        | OrcType::String { .. }
        | OrcType::Varchar { .. }
        | OrcType::Char { .. }
        | OrcType::Decimal { .. }
        | OrcType::Date { .. } => Ok(arrow.clone()),
        OrcType::Timestamp { .. } => Ok(DataType::Timestamp(TimeUnit::Microsecond, None)),
        OrcType::TimestampWithLocalTimezone { .. } => Ok(DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))),
        other => rejected(format!("the file does not match the schema: column {} is ORC {}, which has no table type", printable(name), type_word(other))),
    }
}

fn type_word(t: &OrcType) -> &'static str {
    match t {
        OrcType::Binary { .. } => "binary",
        OrcType::Struct { .. } => "struct",
        OrcType::List { .. } => "list",
        OrcType::Map { .. } => "map",
        OrcType::Union { .. } => "union",
        _ => "of another kind",
    }
}

/// A column name as the reasons show it: at most 64 characters, quoted when it is not a plain identifier.
fn printable(name: &str) -> String {
    let short: String = name.chars().take(64).collect();
    if !short.is_empty() && short.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        short
    } else {
        format!("{short:?}")
    }
}

/// Nanoseconds → microseconds, refusing a value with a sub-microsecond part (the table keeps microseconds; dropping
/// digits would change the value). Returns the 0-based index of the first such value on failure.
fn to_micros(ns: &TimestampNanosecondArray) -> Result<Vec<Option<i64>>, usize> {
    let mut out = Vec::with_capacity(ns.len());
    for i in 0..ns.len() {
        if ns.is_null(i) {
            out.push(None);
            continue;
        }
        let v = ns.value(i);
        if v % 1000 != 0 {
            return Err(i);
        }
        out.push(Some(v / 1000));
    }
    Ok(out)
}

fn convert_batch(batch: &RecordBatch, schema: &SchemaRef, first_row: u64) -> Result<RecordBatch, Rejection> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (i, field) in schema.fields().iter().enumerate() {
        let column = batch.column(i);
        match field.data_type() {
            DataType::Timestamp(TimeUnit::Microsecond, tz) => {
                let Some(ns) = column.as_any().downcast_ref::<TimestampNanosecondArray>() else {
                    return rejected(format!("column {}: unexpected timestamp encoding", printable(field.name())));
                };
                let micros = to_micros(ns).or_else(|row| {
                    rejected(format!(
                        "the file does not match the schema: row {}, column {}: expects a timestamp to the microsecond; the value has nanoseconds",
                        first_row + row as u64 + 1,
                        printable(field.name())
                    ))
                })?;
                let array = arrow::array::TimestampMicrosecondArray::from(micros).with_timezone_opt(tz.clone());
                columns.push(Arc::new(array));
            }
            _ => columns.push(column.clone()),
        }
    }
    RecordBatch::try_new(schema.clone(), columns).or_else(|_| rejected("its data cannot be decoded"))
}

fn has_orc_magic(path: &str) -> std::io::Result<bool> {
    let mut head = [0u8; 3];
    let mut f = File::open(path)?;
    let mut read = 0;
    while read < 3 {
        let n = f.read(&mut head[read..])?;
        if n == 0 {
            return Ok(false);
        }
        read += n;
    }
    Ok(&head == b"ORC")
}

fn convert(input: &str, output: &str, max_stripe_bytes: u64) -> Result<u64, Rejection> {
    if !has_orc_magic(input).map_err(|_| Rejection("the file cannot be opened".into()))? {
        return rejected("not a readable ORC file: it does not start with the ORC magic");
    }
    let file = File::open(input).map_err(|_| Rejection("the file cannot be opened".into()))?;
    let builder = ArrowReaderBuilder::try_new(file).map_err(|e| unreadable(&e, 0))?;
    let metadata = builder.file_metadata();
    for (n, stripe) in metadata.stripe_metadatas().iter().enumerate() {
        let bytes = stripe.index_length() + stripe.data_length() + stripe.footer_length();
        if bytes > max_stripe_bytes {
            return rejected(format!("stripe {} holds {bytes} bytes, past the limit of {max_stripe_bytes}; write smaller stripes", n + 1));
        }
    }
    let read_schema = builder.schema();
    let orc_columns = metadata.root_data_type().children();
    let mut fields = Vec::with_capacity(orc_columns.len());
    for (column, field) in orc_columns.iter().zip(read_schema.fields().iter()) {
        let t = output_type(column.name(), column.data_type(), field.data_type())?;
        fields.push(Field::new(field.name(), t, true));
    }
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let reader = builder.with_batch_size(BATCH_ROWS).build();

    let out = File::create(output).map_err(|_| Rejection("the output cannot be written".into()))?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).set_max_row_group_row_count(Some(ROW_GROUP_ROWS)).build();
    let mut writer = ArrowWriter::try_new(out, schema.clone(), Some(props)).map_err(|_| Rejection("the output cannot be written".into()))?;
    let mut rows: u64 = 0;
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(&e, rows))?;
        let converted = convert_batch(&batch, &schema, rows)?;
        rows += batch.num_rows() as u64;
        writer.write(&converted).map_err(|_| Rejection("the output cannot be written".into()))?;
        if writer.in_progress_size() > ROW_GROUP_BYTES {
            writer.flush().map_err(|_| Rejection("the output cannot be written".into()))?;
        }
    }
    writer.close().map_err(|_| Rejection("the output cannot be written".into()))?;
    Ok(rows)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let mut max_stripe_bytes = DEFAULT_MAX_STRIPE_BYTES;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--max-stripe-bytes" {
            match it.next().and_then(|v| v.parse().ok()) {
                Some(v) => max_stripe_bytes = v,
                None => {
                    eprintln!("usage: --max-stripe-bytes needs a number");
                    return ExitCode::from(64);
                }
            }
        } else {
            positional.push(a.as_str());
        }
    }
    let [input, output] = positional[..] else {
        eprintln!("usage: atoll-orc-to-parquet INPUT.orc OUTPUT.parquet [--max-stripe-bytes N]");
        return ExitCode::from(64);
    };
    // A malformed file may trip an assertion inside the decoder: that is still a file that cannot load, not a crash to
    // retry. The default hook would print the panic message, which may hold a value, so it prints nothing.
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| convert(input, output, max_stripe_bytes))
        .unwrap_or_else(|_| Err(Rejection("not a readable ORC file: its data cannot be decoded".into())));
    match outcome {
        Ok(rows) => {
            let _ = writeln!(std::io::stdout(), "{{\"rows\":{rows}}}");
            ExitCode::SUCCESS
        }
        Err(Rejection(reason)) => {
            let _ = writeln!(std::io::stderr(), "{reason}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_are_exact_or_refused() {
        let ok = TimestampNanosecondArray::from(vec![Some(1_000), None, Some(-2_000)]);
        assert_eq!(to_micros(&ok), Ok(vec![Some(1), None, Some(-2)]));
        let fine = TimestampNanosecondArray::from(vec![Some(1_000), Some(1_001)]);
        assert_eq!(to_micros(&fine), Err(1));
    }

    #[test]
    fn error_kinds_never_carry_values() {
        assert_eq!(error_kind("DecodeTimestamp { seconds: 12, nanoseconds: 99 }"), "a timestamp that cannot be decoded (outside the years 1677-2262, or malformed)");
        assert_eq!(error_kind("OutOfSpec { msg: \"x\" }"), "its structure is not valid ORC");
        assert_eq!(error_kind("Whatever(1)"), "its data cannot be decoded");
        assert_eq!(error_kind("ExternalError(DecodeTimestamp { seconds: 1 })"), "a timestamp that cannot be decoded (outside the years 1677-2262, or malformed)");
    }

    #[test]
    fn odd_column_names_are_quoted_and_cut() {
        assert_eq!(printable("amount"), "amount");
        assert_eq!(printable("a b"), "\"a b\"");
        assert_eq!(printable(&"x".repeat(100)).len(), 64);
    }
}
