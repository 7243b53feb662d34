using System.Globalization;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SharpLM.Runtime;

/// <summary>
/// Reads a YAML document as the JSON it stands for, so YAML and JSON config files share one schema and one
/// validation path. Plain (unquoted) scalars follow the YAML 1.2 core schema — true/false, null/~, integers and
/// floats become JSON literals; quoted scalars always stay strings.
/// </summary>
public static class YamlAsJson
{
    /// <summary>The single YAML document in <paramref name="yaml"/> as a JSON element.</summary>
    /// <exception cref="YamlDotNet.Core.YamlException">
    /// The text is not valid YAML, holds other than one document, or uses a non-scalar mapping key or an alias.
    /// </exception>
    public static JsonElement Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        if (stream.Documents.Count != 1) throw new YamlException($"expected one YAML document, found {stream.Documents.Count}");
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer)) Write(stream.Documents[0].RootNode, writer);
        return JsonDocument.Parse(buffer.ToArray()).RootElement;
    }

    static void Write(YamlNode node, Utf8JsonWriter writer)
    {
        switch (node)
        {
            case YamlMappingNode map:
                writer.WriteStartObject();
                foreach (var (key, value) in map.Children)
                {
                    writer.WritePropertyName(key is YamlScalarNode k ? k.Value ?? "" : throw new YamlException(key.Start, key.End, "mapping keys must be scalars"));
                    Write(value, writer);
                }
                writer.WriteEndObject();
                break;
            case YamlSequenceNode list:
                writer.WriteStartArray();
                foreach (var item in list.Children) Write(item, writer);
                writer.WriteEndArray();
                break;
            case YamlScalarNode scalar:
                WriteScalar(scalar, writer);
                break;
            default:
                throw new YamlException(node.Start, node.End, "aliases are not supported in config files");
        }
    }

    static void WriteScalar(YamlScalarNode scalar, Utf8JsonWriter writer)
    {
        string value = scalar.Value ?? "";
        if (scalar.Style != YamlDotNet.Core.ScalarStyle.Plain) { writer.WriteStringValue(value); return; }
        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL": writer.WriteNullValue(); return;
            case "true" or "True" or "TRUE": writer.WriteBooleanValue(true); return;
            case "false" or "False" or "FALSE": writer.WriteBooleanValue(false); return;
        }
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long integer)) writer.WriteNumberValue(integer);
        else if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double real) && double.IsFinite(real)) writer.WriteNumberValue(real);
        else writer.WriteStringValue(value);
    }
}
