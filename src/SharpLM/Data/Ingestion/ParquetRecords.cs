using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Parquet;
using Parquet.Schema;

namespace SharpLM.Data.Ingestion;

/// <summary>
/// Parquet (FineWeb-style: text, id, dump, url, …) read one row group at a time, so memory is bounded by a row
/// group. Every other top-level column becomes metadata in the form .jsonl metadata takes (raw JSON: strings quoted,
/// numbers invariant, nulls left out); nested and list columns are left out. A file row is numbered from 1.
/// .parquet.gz is refused with a bad record: Parquet compresses its pages itself, and the reader needs to seek.
/// </summary>
internal static class ParquetRecords
{
    public static IEnumerable<Document> Read(string file, Stream stream, CorpusOptions options, Action<BadRecord> onBad)
    {
        using var _ = stream;
        if (CorpusReader.IsGzip(file)) { onBad(new BadRecord(file, "gzip-compressed Parquet is not supported (Parquet compresses its pages itself): decompress it first")); yield break; }
        ParquetReader reader;
        DataField[] columns;
        // A damaged file surfaces as whatever the decoder trips on, so any exception from it is bad input.
        try
        {
            reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
            // One value per row: top-level, non-repeated columns (strings and bytes are value types here too).
            columns = reader.Schema.Fields.OfType<DataField>().Where(f => f.MaxRepetitionLevel == 0 && f.ClrType.IsValueType).ToArray();
        }
        catch (Exception e) { onBad(new BadRecord(file, $"not a readable Parquet file ({InvalidInputException.FirstLine(e)})")); yield break; }
        try
        {
            int text = Array.FindIndex(columns, f => f.Name == options.TextField);
            int id = Array.FindIndex(columns, f => f.Name == options.IdField);
            if (text < 0) { onBad(new BadRecord(file, $"column '{options.TextField}' missing")); yield break; }
            if (columns[text].ClrType != typeof(ReadOnlyMemory<char>)) { onBad(new BadRecord(file, $"column '{options.TextField}' is {columns[text].ClrType.Name}, not a string")); yield break; }
            long row = 0;
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                // The footer's counts are trusted by nothing below: a forged one would size arrays in the gigabytes.
                if (Oversized(group, columns.Length, stream.Length) is string oversized)
                {
                    onBad(new BadRecord(file, $"row group {g + 1} {oversized}; the rest of the file is skipped"));
                    yield break;
                }
                var values = ReadRowGroup(group, columns, out string? problem);
                if (values is null)
                {
                    onBad(new BadRecord(file, $"row group {g + 1} (rows {row + 1}-{row + group.RowCount}) unreadable ({problem})"));
                    row += group.RowCount;
                    continue;
                }
                for (int r = 0; r < values[text].Length; r++)
                {
                    var document = ParquetRow(options, columns, values, r, text, id, $"{file}:{++row}", onBad);
                    if (document is not null) yield return document;
                }
            }
        }
        finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    /// <summary>Most bytes of row references one row group may make this reader allocate (8 per row and column).</summary>
    internal const long MaxRowGroupArrayBytes = 1L << 30;
    /// <summary>Most bytes a row group may declare it decompresses to.</summary>
    internal const long MaxRowGroupBytes = 4L << 30;

    /// <summary>
    /// Why a row group's declared sizes cannot be honest or would not fit, or null: every row takes at least a bit of
    /// the file (a definition level or a dictionary index), and the arrays read for it must stay bounded.
    /// </summary>
    internal static string? Oversized(ParquetRowGroupReader group, int columns, long fileLength)
    {
        long rows = group.RowCount;
        if (rows < 0 || rows > 8 * fileLength)
            return $"declares {rows:N0} rows, more than a {fileLength:N0}-byte file can hold";
        if (rows * Math.Max(columns, 1) * 8 > MaxRowGroupArrayBytes)
            return $"declares {rows:N0} rows of {columns} columns, more than {MaxRowGroupArrayBytes >> 20} MiB of row references";
        long declared = group.RowGroup.TotalByteSize;
        if (declared < 0 || declared > MaxRowGroupBytes)
            return $"declares {declared:N0} bytes uncompressed, more than the {MaxRowGroupBytes >> 30} GiB a row group may";
        return null;
    }

    /// <summary>Every column of a row group, a value or null per row; null (and why) when a column cannot be read.</summary>
    static object?[][]? ReadRowGroup(ParquetRowGroupReader group, DataField[] columns, out string? problem)
    {
        var values = new object?[columns.Length][];
        for (int c = 0; c < columns.Length; c++)
        {
            try { values[c] = ReadColumn(group, columns[c], checked((int)group.RowCount)); }
            catch (Exception e) // as above: damage shows as any exception
            {
                problem = $"column '{columns[c].Name}': {InvalidInputException.FirstLine(e)}";
                return null;
            }
        }
        problem = null;
        return values;
    }

    static Document? ParquetRow(CorpusOptions options, DataField[] columns, object?[][] values, int r, int text, int id, string location, Action<BadRecord> onBad)
    {
        if (values[text][r] is not string content) { onBad(new BadRecord(location, $"column '{options.TextField}' is null")); return null; }
        if (string.IsNullOrWhiteSpace(content)) { onBad(new BadRecord(location, "empty document")); return null; }
        if (Encoding.UTF8.GetByteCount(content) > options.MaxDocumentBytes) { onBad(new BadRecord(location, $"document larger than {options.MaxDocumentBytes:N0} bytes")); return null; }
        var metadata = new Dictionary<string, string>();
        for (int c = 0; c < columns.Length; c++)
            if (c != text && c != id && values[c][r] is { } value) metadata[columns[c].Name] = JsonSerializer.Serialize(value, value.GetType(), MetadataJson);
        // Ids as .jsonl takes them: a string, or a number as written; anything else falls back to the location.
        object? idValue = id < 0 ? null : values[id][r];
        string documentId = idValue switch
        {
            string s => s,
            sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal => Convert.ToString(idValue, CultureInfo.InvariantCulture)!,
            _ => location,
        };
        return new Document(documentId, content, metadata.Count > 0 ? metadata : null);
    }

    /// <summary>Raw JSON as .jsonl metadata holds it, escaped no more than <see cref="JsonlWriter"/> escapes.</summary>
    static readonly JsonSerializerOptions MetadataJson = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // NaN has no JSON number: "NaN"
    };

    static readonly MethodInfo ReadValueColumn = typeof(ParquetRecords).GetMethod(nameof(ReadValues), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>One column of a row group, a boxed value or null per row.</summary>
    static object?[] ReadColumn(ParquetRowGroupReader group, DataField field, int rows)
    {
        if (field.ClrType == typeof(ReadOnlyMemory<char>))
        {
            var strings = new string?[rows];
            group.ReadAsync(field, strings.AsMemory()).AsTask().GetAwaiter().GetResult();
            return strings;
        }
        if (field.ClrType == typeof(ReadOnlyMemory<byte>))
        {
            var bytes = new byte[]?[rows];
            group.ReadAsync(field, bytes.AsMemory()).AsTask().GetAwaiter().GetResult();
            return bytes;
        }
        // Value columns (numbers, bools, dates, …) read as T?[], for whichever T the file declares.
        return (object?[])ReadValueColumn.MakeGenericMethod(field.ClrType)
            .Invoke(null, BindingFlags.DoNotWrapExceptions, null, new object[] { group, field, rows }, null)!;
    }

    static object?[] ReadValues<T>(ParquetRowGroupReader group, DataField field, int rows) where T : struct
    {
        var values = new T?[rows];
        group.ReadAsync<T>(field, values.AsMemory()).AsTask().GetAwaiter().GetResult();
        return Array.ConvertAll(values, v => (object?)v);
    }
}
