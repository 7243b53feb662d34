using System.Globalization;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SharpLM.Runtime;

/// <summary>
/// Reads a YAML document as the JSON it stands for, so YAML and JSON config files share one schema and one
/// validation path. Plain (unquoted) scalars follow the YAML 1.2 core schema — true/false, null/~, integers and
/// floats become JSON literals; quoted scalars always stay strings. Aliases are refused before anything is built:
/// a few hundred bytes of nested aliases ("billion laughs") expand to gigabytes, and config and task files come
/// from strangers. Nesting deeper than <see cref="MaxDepth"/> is refused too, so parsing never exhausts the stack.
/// </summary>
public static class YamlAsJson
{
    /// <summary>Deepest nesting of mappings and sequences accepted (config and task files need a handful).</summary>
    public const int MaxDepth = 64;

    /// <summary>The single YAML document in <paramref name="yaml"/> as a JSON element.</summary>
    /// <exception cref="YamlDotNet.Core.YamlException">
    /// The text is not valid YAML, holds other than one document, uses a non-scalar mapping key or an alias, or
    /// nests deeper than <see cref="MaxDepth"/>.
    /// </exception>
    public static JsonElement Parse(string yaml)
    {
        Screen(yaml);
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        if (stream.Documents.Count != 1) throw new YamlException($"expected one YAML document, found {stream.Documents.Count}");
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer)) Write(stream.Documents[0].RootNode, writer);
        return JsonDocument.Parse(buffer.ToArray()).RootElement;
    }

    /// <summary>
    /// Walks the event stream (flat, constant memory) and refuses aliases and deep nesting before the node tree is
    /// built: YamlStream resolves an alias to the anchored node itself, so a tree walk would expand every alias.
    /// </summary>
    static void Screen(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        int depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case YamlDotNet.Core.Events.AnchorAlias alias:
                    throw new YamlException(alias.Start, alias.End, $"aliases are not supported (*{alias.Value} at line {alias.Start.Line}): one alias can stand for a whole subtree, so a small file could expand without bound");
                case YamlDotNet.Core.Events.MappingStart or YamlDotNet.Core.Events.SequenceStart:
                    if (++depth > MaxDepth)
                        throw new YamlException(parser.Current.Start, parser.Current.End, $"nested deeper than {MaxDepth} levels (line {parser.Current.Start.Line})");
                    break;
                case YamlDotNet.Core.Events.MappingEnd or YamlDotNet.Core.Events.SequenceEnd:
                    depth--;
                    break;
            }
        }
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
