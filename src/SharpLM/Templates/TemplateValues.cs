using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpLM.Templates;

/// <summary>
/// A variable that was never set (jinja2's default <c>Undefined</c>): it prints as "", is false, iterates as empty and
/// has length 0, but reading an attribute of it is an error. Templates lean on this — <c>{% if tools %}</c> when no
/// tools were passed — so it cannot simply be null (which is Python's None and prints "None").
/// </summary>
public sealed class Undefined
{
    /// <summary>Why the value is undefined, as jinja2 words it ("'x' is undefined").</summary>
    public string Reason { get; }

    internal Undefined(string reason) => Reason = reason;

    /// <summary>An undefined value for the variable <paramref name="name"/>.</summary>
    internal static Undefined Variable(string name) => new($"'{name}' is undefined");
}

/// <summary>
/// The object <c>namespace(...)</c> returns: the only value a template may assign attributes of
/// (<c>{% set ns.found = true %}</c>), which is how templates carry state out of a loop, whose own assignments
/// end with each iteration.
/// </summary>
public sealed class TemplateNamespace
{
    /// <summary>The attributes, in the order they were first set.</summary>
    public OrderedDictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>A function a template can call (<c>raise_exception</c>, <c>namespace</c>, a macro, a bound string method).</summary>
/// <param name="Name">Shown in errors.</param>
/// <param name="Invoke">Positional arguments, keyword arguments; returns the result.</param>
public sealed record TemplateFunction(string Name, Func<IReadOnlyList<object?>, IReadOnlyDictionary<string, object?>, object?> Invoke);

/// <summary>
/// The value model templates compute with, chosen to match Python's objects as jinja2 sees them: null is None,
/// <see cref="Undefined"/>, bool, long (int), double (float), string, <see cref="List{T}"/> of object (list), object[]
/// (tuple, which prints with parentheses), <see cref="OrderedDictionary{TKey, TValue}"/> keyed by string (dict, which
/// keeps insertion order as Python's does), <see cref="TemplateNamespace"/> and <see cref="TemplateFunction"/>.
/// These helpers give the Python meaning of printing, truth, equality and ordering over that model.
/// </summary>
public static class TemplateValues
{
    /// <summary>A new, empty dict.</summary>
    internal static OrderedDictionary<string, object?> NewDict() => new(StringComparer.Ordinal);

    /// <summary>Converts parsed JSON to template values: objects to dicts (order kept), arrays to lists, integers that fit
    /// in a long to long, other numbers to double.</summary>
    public static object? FromJson(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.Aggregate(NewDict(), (d, p) => { d[p.Key] = FromJson(p.Value); return d; }),
        JsonArray a => a.Select(FromJson).ToList(),
        JsonValue v => FromJson(v.GetValue<JsonElement>()),
        _ => throw new InvalidOperationException($"unexpected JSON node {node.GetType().Name}"),
    };

    /// <summary>Converts a JSON element to template values, as <see cref="FromJson(JsonNode?)"/>.</summary>
    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out long l) ? l : (object)element.GetDouble(),
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => element.EnumerateObject().Aggregate(NewDict(), (d, p) => { d[p.Name] = FromJson(p.Value); return d; }),
        _ => throw new InvalidOperationException($"unexpected JSON kind {element.ValueKind}"),
    };

    /// <summary>Python's <c>str(value)</c>, which is what <c>{{ value }}</c> prints; undefined prints as "".</summary>
    public static string ToStr(object? value) => value switch
    {
        string s => s,
        Undefined => "",
        _ => Repr(value),
    };

    /// <summary>Python's <c>repr(value)</c>: how a value prints inside a list or dict (<c>['a', None]</c>).</summary>
    public static string Repr(object? value)
    {
        switch (value)
        {
            case null: return "None";
            case Undefined: return "Undefined"; // how jinja2's Undefined shows inside a list
            case bool b: return b ? "True" : "False";
            case long l: return l.ToString(CultureInfo.InvariantCulture);
            case double d: return FloatRepr(d);
            case string s: return StringRepr(s);
            case object[] tuple: return tuple.Length == 1 ? $"({Repr(tuple[0])},)" : "(" + string.Join(", ", tuple.Select(Repr)) + ")";
            case List<object?> list: return "[" + string.Join(", ", list.Select(Repr)) + "]";
            case OrderedDictionary<string, object?> dict: return "{" + string.Join(", ", dict.Select(p => $"{StringRepr(p.Key)}: {Repr(p.Value)}")) + "}";
            case TemplateNamespace ns: return "<Namespace " + string.Join(", ", ns.Attributes.Select(p => $"{p.Key}={Repr(p.Value)}")) + ">";
            case TemplateFunction f: return $"<function {f.Name}>";
            default: return value.ToString() ?? "";
        }
    }

    /// <summary>Python's <c>repr(float)</c>: the shortest digits that read back to the same double, positional from
    /// 1e-4 up to 1e16 and scientific (<c>1e-05</c>, <c>1e+16</c>) outside, always with a fractional part or exponent.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        // "E16" is not shortest; "R" gives the shortest round-trip digits, in either notation.
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        string sign = r.StartsWith('-') ? "-" : "";
        r = r.TrimStart('-');
        int exponent = 0;
        int e = r.IndexOfAny(['E', 'e']);
        if (e >= 0) { exponent = int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture); r = r[..e]; }
        int point = r.IndexOf('.');
        string digits = point < 0 ? r : r[..point] + r[(point + 1)..];
        int pointPosition = (point < 0 ? r.Length : point) + exponent;
        int leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        pointPosition -= leadingZeros;
        // Value = 0.digits × 10^pointPosition; Python's exponent is pointPosition - 1.
        int pyExponent = pointPosition - 1;
        if (pyExponent < -4 || pyExponent >= 16)
        {
            string mantissa = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            return $"{sign}{mantissa}e{(pyExponent < 0 ? "-" : "+")}{Math.Abs(pyExponent):00}";
        }
        if (pointPosition <= 0) return $"{sign}0.{new string('0', -pointPosition)}{digits}";
        if (pointPosition >= digits.Length) return $"{sign}{digits}{new string('0', pointPosition - digits.Length)}.0";
        return $"{sign}{digits[..pointPosition]}.{digits[pointPosition..]}";
    }

    /// <summary>Python's <c>repr(str)</c>: single quotes unless the text has one and no double quote.</summary>
    public static string StringRepr(string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder().Append(quote);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote) sb.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7f) sb.Append($"\\x{(int)c:x2}");
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append(quote).ToString();
    }

    /// <summary>Python truth: None, undefined, false, 0, "" and empty containers are false.</summary>
    internal static bool IsTrue(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        System.Collections.ICollection c => c.Count > 0,
        _ => true,
    };

    /// <summary>The name Python gives the value's type, for error messages as jinja2 words them ("'dict object' has no attribute 'x'").</summary>
    internal static string TypeName(object? value) => value switch
    {
        null => "NoneType",
        Undefined => "Undefined",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        object[] => "tuple",
        List<object?> => "list",
        OrderedDictionary<string, object?> => "dict",
        TemplateNamespace => "Namespace",
        TemplateFunction => "function",
        _ => value.GetType().Name,
    };

    /// <summary>Python's <c>==</c>: numbers by value across int, float and bool; strings ordinally; containers element by element.</summary>
    internal static bool AreEqual(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b)) return a is double || b is double ? ToDouble(a) == ToDouble(b) : ToLong(a) == ToLong(b);
        return (a, b) switch
        {
            (null, null) => true,
            (Undefined, Undefined) => true,
            (string x, string y) => x == y,
            (object[] x, object[] y) => x.Length == y.Length && x.Zip(y).All(p => AreEqual(p.First, p.Second)),
            (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => AreEqual(p.First, p.Second)),
            (OrderedDictionary<string, object?> x, OrderedDictionary<string, object?> y) =>
                x.Count == y.Count && x.All(p => y.TryGetValue(p.Key, out object? v) && AreEqual(p.Value, v)),
            _ => ReferenceEquals(a, b),
        };
    }

    /// <summary>Python's ordering (<c>&lt;</c> and friends, <c>sort</c>): numbers by value, strings by code point, lists
    /// element by element; anything else cannot be ordered.</summary>
    /// <exception cref="TemplateRuntimeException">The two values have no order in Python.</exception>
    internal static int Compare(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b)) return a is double || b is double ? ToDouble(a).CompareTo(ToDouble(b)) : ToLong(a).CompareTo(ToLong(b));
        if (a is string x && b is string y) return string.CompareOrdinal(x, y) switch { < 0 => -1, > 0 => 1, _ => 0 };
        if (a is IList<object?> p && b is IList<object?> q && (a is object[]) == (b is object[]))
        {
            for (int i = 0; i < Math.Min(p.Count, q.Count); i++)
                if (!AreEqual(p[i], q[i])) return Compare(p[i], q[i]);
            return p.Count.CompareTo(q.Count);
        }
        throw new TemplateRuntimeException($"'<' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    /// <summary>Whether the value is a Python number (bool counts, as in Python).</summary>
    internal static bool IsNumber(object? value) => value is long or double or bool;

    /// <summary>A number as a long (bool as 0 or 1).</summary>
    internal static long ToLong(object? value) => value switch { long l => l, bool b => b ? 1 : 0, double d => (long)d, _ => 0 };

    /// <summary>A number as a double (bool as 0 or 1).</summary>
    internal static double ToDouble(object? value) => value switch { long l => l, bool b => b ? 1 : 0, double d => d, _ => 0 };

    /// <summary>
    /// Python's <c>json.dumps(value, ensure_ascii=ensureAscii, indent=indent, separators=separators, sort_keys=sortKeys)</c>,
    /// the <c>tojson</c> filter transformers installs (jinja2's own escapes HTML characters): with no separators given,
    /// <c>", "</c> and <c>": "</c> on one line, or <c>","</c> and <c>": "</c> with a newline and <paramref name="indent"/>
    /// per level when indenting; non-ASCII text is written as is unless <paramref name="ensureAscii"/>.
    /// </summary>
    /// <exception cref="TemplateRuntimeException">The value has no JSON form (undefined, a function, a namespace).</exception>
    internal static string ToJson(object? value, string? indent, (string Item, string Key)? separators, bool sortKeys, bool ensureAscii)
    {
        var writer = new JsonWriter(indent, separators ?? (indent is null ? (", ", ": ") : (",", ": ")), sortKeys, ensureAscii);
        writer.Write(value, 0);
        return writer.Text.ToString();
    }

    sealed class JsonWriter(string? indent, (string Item, string Key) separators, bool sortKeys, bool ensureAscii)
    {
        public StringBuilder Text { get; } = new();

        public void Write(object? value, int depth)
        {
            switch (value)
            {
                case null: Text.Append("null"); break;
                case bool b: Text.Append(b ? "true" : "false"); break;
                case long l: Text.Append(l.ToString(CultureInfo.InvariantCulture)); break;
                case double d:
                    Text.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : FloatRepr(d));
                    break;
                case string s: WriteString(s); break;
                case IList<object?> list:
                    WriteContainer('[', ']', list.Count, depth, i => Write(list[i], depth + 1));
                    break;
                case OrderedDictionary<string, object?> dict:
                    var pairs = sortKeys ? dict.OrderBy(p => p.Key, StringComparer.Ordinal).ToList() : dict.ToList();
                    WriteContainer('{', '}', pairs.Count, depth, i =>
                    {
                        WriteString(pairs[i].Key);
                        Text.Append(separators.Key);
                        Write(pairs[i].Value, depth + 1);
                    });
                    break;
                default:
                    throw new TemplateRuntimeException($"Object of type {TypeName(value)} is not JSON serializable");
            }
        }

        void WriteContainer(char open, char close, int count, int depth, Action<int> writeItem)
        {
            Text.Append(open);
            if (count == 0) { Text.Append(close); return; }
            for (int i = 0; i < count; i++)
            {
                if (i > 0) Text.Append(separators.Item);
                if (indent is not null) Text.Append('\n').Append(string.Concat(Enumerable.Repeat(indent, depth + 1)));
                writeItem(i);
            }
            if (indent is not null) Text.Append('\n').Append(string.Concat(Enumerable.Repeat(indent, depth)));
            Text.Append(close);
        }

        void WriteString(string s)
        {
            Text.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': Text.Append("\\\""); break;
                    case '\\': Text.Append("\\\\"); break;
                    case '\n': Text.Append("\\n"); break;
                    case '\r': Text.Append("\\r"); break;
                    case '\t': Text.Append("\\t"); break;
                    case '\b': Text.Append("\\b"); break;
                    case '\f': Text.Append("\\f"); break;
                    default:
                        if (c < 0x20 || (ensureAscii && c > 0x7f)) Text.Append($"\\u{(int)c:x4}");
                        else Text.Append(c);
                        break;
                }
            }
            Text.Append('"');
        }
    }
}
