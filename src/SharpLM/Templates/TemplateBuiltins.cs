using System.Globalization;
using System.Text;
using static SharpLM.Templates.TemplateValues;

namespace SharpLM.Templates;

/// <summary>
/// The filters, tests, global functions and string and dict methods chat templates use, each with jinja2's (or
/// Python's) meaning, including the corner cases templates hit: strings measured and indexed in code points as Python
/// does (an emoji is one character), <c>default</c> replacing only undefined unless asked, <c>sort</c> and
/// <c>min</c>/<c>max</c> ignoring case, <c>tojson</c> as transformers overrides it. Anything not listed is an error
/// rather than a guess.
/// </summary>
internal static class TemplateBuiltins
{
    delegate object? Filter(object? value, Args args);
    delegate bool Test(object? value, Args args);

    /// <summary>Positional and keyword arguments, read by position or name as a Python signature binds them.</summary>
    internal sealed record Args(IReadOnlyList<object?> Positional, IReadOnlyDictionary<string, object?> Keywords)
    {
        /// <summary>The argument at <paramref name="index"/> or named <paramref name="name"/>, else <paramref name="fallback"/>.</summary>
        public object? Get(int index, string name, object? fallback = null) =>
            index < Positional.Count ? Positional[index] : Keywords.TryGetValue(name, out object? v) ? v : fallback;
    }

    static readonly Dictionary<string, Filter> filters = new()
    {
        ["trim"] = (v, a) => Strip(ToStr(v), a.Get(0, "chars") as string, left: true, right: true),
        ["tojson"] = ToJsonFilter,
        ["length"] = (v, _) => (long)Length(v),
        ["count"] = (v, _) => (long)Length(v),
        ["upper"] = (v, _) => ToStr(v).ToUpperInvariant(),
        ["lower"] = (v, _) => ToStr(v).ToLowerInvariant(),
        ["capitalize"] = (v, _) => Capitalize(ToStr(v)),
        ["title"] = (v, _) => JinjaTitle(ToStr(v)),
        ["default"] = Default,
        ["d"] = Default,
        ["join"] = Join,
        ["first"] = (v, _) => Iterate(v).FirstOrDefault(new Undefined("no first item, sequence was empty")),
        ["last"] = (v, _) => { var items = Iterate(v); return items.Count > 0 ? items[^1] : new Undefined("no last item, sequence was empty"); },
        ["list"] = (v, _) => Iterate(v),
        ["string"] = (v, _) => ToStr(v),
        ["int"] = ToInt,
        ["float"] = ToFloat,
        ["replace"] = (v, a) => Replace(ToStr(v), ToStr(a.Get(0, "old")), ToStr(a.Get(1, "new")), a.Get(2, "count")),
        ["items"] = (v, _) => v is Undefined ? new List<object?>() : Items(AsDict(v, "items")),
        ["selectattr"] = (v, a) => SelectAttribute(v, a, keep: true),
        ["rejectattr"] = (v, a) => SelectAttribute(v, a, keep: false),
        ["select"] = (v, a) => Select(v, a, keep: true),
        ["reject"] = (v, a) => Select(v, a, keep: false),
        ["map"] = Map,
        ["safe"] = (v, _) => ToStr(v),
        ["e"] = (v, _) => Escape(ToStr(v)),
        ["escape"] = (v, _) => Escape(ToStr(v)),
        ["abs"] = (v, _) => v switch { long l => (object)Math.Abs(l), double d => Math.Abs(d), bool b => b ? 1L : 0L, _ => throw BadOperand("abs", v) },
        ["round"] = Round,
        ["reverse"] = (v, _) => v is string s ? string.Concat(Runes(s).AsEnumerable().Reverse()) : Iterate(v).AsEnumerable().Reverse().ToList(),
        ["sort"] = Sort,
        ["unique"] = (v, _) => Iterate(v).Aggregate(new List<object?>(), (seen, x) => { if (!seen.Any(s => AreEqual(SortKey(s), SortKey(x)))) seen.Add(x); return seen; }),
        ["sum"] = Sum,
        ["min"] = (v, _) => Extreme(v, "min"),
        ["max"] = (v, _) => Extreme(v, "max"),
        ["indent"] = Indent,
    };

    static readonly Dictionary<string, Test> tests = new()
    {
        ["defined"] = (v, _) => v is not Undefined,
        ["undefined"] = (v, _) => v is Undefined,
        ["none"] = (v, _) => v is null,
        ["boolean"] = (v, _) => v is bool,
        ["true"] = (v, _) => v is true,
        ["false"] = (v, _) => v is false,
        ["integer"] = (v, _) => v is long,
        ["float"] = (v, _) => v is double,
        ["number"] = (v, _) => IsNumber(v),
        ["string"] = (v, _) => v is string,
        ["mapping"] = (v, _) => v is OrderedDictionary<string, object?>,
        ["iterable"] = (v, _) => v is string or System.Collections.IList or OrderedDictionary<string, object?> or Undefined,
        ["sequence"] = (v, _) => v is string or System.Collections.IList or OrderedDictionary<string, object?> or Undefined,
        ["callable"] = (v, _) => v is TemplateFunction,
        ["odd"] = (v, _) => AreEqual(Arithmetic("%", v, 2L), 1L),
        ["even"] = (v, _) => AreEqual(Arithmetic("%", v, 2L), 0L),
        ["divisibleby"] = (v, a) => AreEqual(Arithmetic("%", v, a.Get(0, "num")), 0L),
        ["lower"] = (v, _) => v is string s && s == s.ToLowerInvariant(),
        ["upper"] = (v, _) => v is string s && s == s.ToUpperInvariant(),
        ["sameas"] = (v, a) => Equals(v, a.Get(0, "other")) && (v is null or bool),
        ["in"] = (v, a) => Contains(a.Get(0, "seq"), v),
        ["eq"] = (v, a) => AreEqual(v, a.Get(0, "other")),
        ["equalto"] = (v, a) => AreEqual(v, a.Get(0, "other")),
        ["=="] = (v, a) => AreEqual(v, a.Get(0, "other")),
        ["ne"] = (v, a) => !AreEqual(v, a.Get(0, "other")),
        ["!="] = (v, a) => !AreEqual(v, a.Get(0, "other")),
        ["lt"] = (v, a) => Compare(v, a.Get(0, "other")) < 0,
        ["lessthan"] = (v, a) => Compare(v, a.Get(0, "other")) < 0,
        ["<"] = (v, a) => Compare(v, a.Get(0, "other")) < 0,
        ["le"] = (v, a) => Compare(v, a.Get(0, "other")) <= 0,
        ["<="] = (v, a) => Compare(v, a.Get(0, "other")) <= 0,
        ["gt"] = (v, a) => Compare(v, a.Get(0, "other")) > 0,
        ["greaterthan"] = (v, a) => Compare(v, a.Get(0, "other")) > 0,
        [">"] = (v, a) => Compare(v, a.Get(0, "other")) > 0,
        ["ge"] = (v, a) => Compare(v, a.Get(0, "other")) >= 0,
        [">="] = (v, a) => Compare(v, a.Get(0, "other")) >= 0,
    };

    /// <summary>Whether a filter of that name exists.</summary>
    public static bool HasFilter(string name) => filters.ContainsKey(name);

    /// <summary>Whether a test of that name exists.</summary>
    public static bool HasTest(string name) => tests.ContainsKey(name);

    /// <summary>Applies the filter <paramref name="name"/>.</summary>
    public static object? ApplyFilter(string name, object? value, Args args) => filters[name](value, args);

    /// <summary>Applies the test <paramref name="name"/>.</summary>
    public static bool ApplyTest(string name, object? value, Args args) =>
        tests.TryGetValue(name, out Test? test) ? test(value, args) : throw new TemplateRuntimeException($"no test named '{name}'");

    /// <summary>The functions every template can call: transformers' <c>raise_exception</c> and jinja2's
    /// <c>namespace</c>, <c>range</c> and <c>dict</c>.</summary>
    public static IEnumerable<TemplateFunction> Globals =>
    [
        new("raise_exception", (p, _) => throw new TemplateRaisedException(ToStr(p.Count > 0 ? p[0] : null))),
        new("namespace", (p, k) =>
        {
            var ns = new TemplateNamespace();
            if (p.Count > 0) foreach (var pair in AsDict(p[0], "namespace")) ns.Attributes[pair.Key] = pair.Value;
            foreach (var pair in k) ns.Attributes[pair.Key] = pair.Value;
            return ns;
        }),
        new("range", (p, _) => Range(p)),
        new("dict", (p, k) =>
        {
            var dict = NewDict();
            if (p.Count > 0) foreach (var pair in AsDict(p[0], "dict")) dict[pair.Key] = pair.Value;
            foreach (var pair in k) dict[pair.Key] = pair.Value;
            return dict;
        }),
    ];

    /// <summary>
    /// <c>target.name</c>, preferring the attribute as jinja2 does: a dict's or string's method if it has one by that
    /// name, else the dict's item; undefined (not an error) when there is neither.
    /// </summary>
    public static object? GetAttribute(object? target, string name)
    {
        switch (target)
        {
            case Undefined u: throw new TemplateRuntimeException(u.Reason);
            case string s when StringMethod(s, name) is { } method: return method;
            case OrderedDictionary<string, object?> dict when DictMethod(dict, name) is { } method: return method;
            case OrderedDictionary<string, object?> dict when dict.TryGetValue(name, out object? value): return value;
            case TemplateNamespace ns when ns.Attributes.TryGetValue(name, out object? value): return value;
        }
        return new Undefined($"'{TypeName(target)} object' has no attribute '{name}'");
    }

    /// <summary><c>target[key]</c>, preferring the item as jinja2 does (a dict key, a list index counted from the end
    /// when negative, a string's code point) and falling back to the attribute; undefined when there is neither.</summary>
    public static object? GetItem(object? target, object? key)
    {
        switch (target)
        {
            case Undefined u: throw new TemplateRuntimeException(u.Reason);
            case OrderedDictionary<string, object?> dict when key is string k && dict.TryGetValue(k, out object? value): return value;
            case IList<object?> list when key is long or bool:
                long i = ToLong(key);
                if (i < 0) i += list.Count;
                return i >= 0 && i < list.Count ? list[(int)i] : new Undefined($"{TypeName(target)} object has no element {ToLong(key)}");
            case string s when key is long or bool:
                string[] runes = Runes(s);
                long j = ToLong(key);
                if (j < 0) j += runes.Length;
                return j >= 0 && j < runes.Length ? runes[j] : new Undefined($"str object has no element {ToLong(key)}");
        }
        return key is string name ? GetAttribute(target, name) : new Undefined($"'{TypeName(target)} object' has no attribute {Repr(key)}");
    }

    /// <summary>Python's <c>target[start:stop:step]</c> on a list, tuple or string (in code points).</summary>
    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        long stride = step is null ? 1 : ToIndex(step, "slice step");
        if (stride == 0) throw new TemplateRuntimeException("slice step cannot be zero");
        IList<object?> items = target switch
        {
            string s => Runes(s),
            IList<object?> list => list,
            Undefined u => throw new TemplateRuntimeException(u.Reason),
            _ => throw new TemplateRuntimeException($"'{TypeName(target)}' object is not subscriptable"),
        };
        int n = items.Count;
        long Clamp(object? bound, long fallback)
        {
            if (bound is null) return fallback;
            long b = ToIndex(bound, "slice index");
            if (b < 0) b += n;
            return stride > 0 ? Math.Clamp(b, 0, n) : Math.Clamp(b, -1, n - 1);
        }
        long from = Clamp(start, stride > 0 ? 0 : n - 1), to = Clamp(stop, stride > 0 ? n : -1);
        var picked = new List<object?>();
        for (long i = from; stride > 0 ? i < to : i > to; i += stride) picked.Add(items[(int)i]);
        return target switch
        {
            string => string.Concat(picked.Cast<string>()),
            object[] => picked.ToArray(),
            _ => picked,
        };
    }

    static long ToIndex(object? value, string what) =>
        value is long or bool ? ToLong(value) : throw new TemplateRuntimeException($"{what} must be an integer, not {TypeName(value)}");

    /// <summary>Python's <c>needle in container</c>: substring, list member, or dict key.</summary>
    public static bool Contains(object? container, object? needle) => container switch
    {
        string s => needle is string n ? s.Contains(n, StringComparison.Ordinal) : throw new TemplateRuntimeException($"'in <string>' requires string as left operand, not {TypeName(needle)}"),
        IList<object?> list => list.Any(x => AreEqual(x, needle)),
        OrderedDictionary<string, object?> dict => needle is string k && dict.ContainsKey(k),
        Undefined => false,
        _ => throw new TemplateRuntimeException($"argument of type '{TypeName(container)}' is not iterable"),
    };

    /// <summary>What a <c>for</c> loop or <c>list</c> sees: a list's items, a dict's keys, a string's characters (code
    /// points); nothing for undefined.</summary>
    public static List<object?> Iterate(object? value) => value switch
    {
        IList<object?> list => list.ToList(),
        OrderedDictionary<string, object?> dict => dict.Keys.Cast<object?>().ToList(),
        string s => Runes(s).Cast<object?>().ToList(),
        Undefined => [],
        _ => throw new TemplateRuntimeException($"'{TypeName(value)}' object is not iterable"),
    };

    /// <summary>A string's characters as Python counts them: one per code point, so an emoji outside the BMP is one.</summary>
    public static string[] Runes(string s) => s.EnumerateRunes().Select(r => r.ToString()).ToArray();

    static int Length(object? value) => value switch
    {
        string s => s.EnumerateRunes().Count(),
        System.Collections.ICollection c => c.Count,
        Undefined => 0,
        _ => throw new TemplateRuntimeException($"object of type '{TypeName(value)}' has no len()"),
    };

    static OrderedDictionary<string, object?> AsDict(object? value, string what) =>
        value as OrderedDictionary<string, object?> ?? throw new TemplateRuntimeException($"{what}: expected a dict, got {TypeName(value)}");

    static List<object?> Items(OrderedDictionary<string, object?> dict) => dict.Select(p => (object?)new object?[] { p.Key, p.Value }).ToList();

    static TemplateRuntimeException BadOperand(string what, object? value) => new($"bad operand type for {what}: '{TypeName(value)}'");

    static object? ToJsonFilter(object? value, Args args)
    {
        // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
        object? indent = args.Get(1, "indent");
        string? indentText = indent switch
        {
            null => null,
            long n => new string(' ', (int)Math.Max(0, n)),
            string s => s,
            _ => throw new TemplateRuntimeException($"tojson: indent must be an integer or string, not {TypeName(indent)}"),
        };
        (string, string)? separators = args.Get(2, "separators") switch
        {
            null => null,
            IList<object?> { Count: 2 } pair when pair[0] is string item && pair[1] is string key => (item, key),
            object other => throw new TemplateRuntimeException($"tojson: separators must be a pair of strings, not {Repr(other)}"),
        };
        return ToJson(value, indentText, separators, IsTrue(args.Get(3, "sort_keys", false)), IsTrue(args.Get(0, "ensure_ascii", false)));
    }

    static object? Default(object? value, Args args)
    {
        object? fallback = args.Get(0, "default_value", "");
        bool boolean = IsTrue(args.Get(1, "boolean", false));
        return value is Undefined || (boolean && !IsTrue(value)) ? fallback : value;
    }

    static object? Join(object? value, Args args)
    {
        string separator = ToStr(args.Get(0, "d", ""));
        object? attribute = args.Get(1, "attribute");
        var items = Iterate(value);
        if (attribute is not null) items = items.Select(x => GetAttributePath(x, attribute)).ToList();
        return string.Join(separator, items.Select(ToStr));
    }

    // jinja2's make_attrgetter: "a.b" walks attributes, an integer part indexes.
    static object? GetAttributePath(object? item, object? attribute)
    {
        if (attribute is long index) return GetItem(item, index);
        foreach (string part in ToStr(attribute).Split('.'))
            item = long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out long i) ? GetItem(item, i) : GetItem(item, part);
        return item;
    }

    static object? ToInt(object? value, Args args)
    {
        object? fallback = args.Get(0, "default", 0L);
        int numberBase = (int)ToLong(args.Get(1, "base", 10L));
        switch (value)
        {
            case long or bool: return ToLong(value);
            case double d: return double.IsFinite(d) ? (long)Math.Truncate(d) : fallback;
            case string s:
                string t = s.Trim().Replace("_", "");
                try
                {
                    if (numberBase == 10 && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return l;
                    if (numberBase != 10) return Convert.ToInt64(t, numberBase);
                }
                catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
                {
                    return fallback;
                }
                return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && double.IsFinite(f) ? (long)Math.Truncate(f) : fallback;
            default: return fallback;
        }
    }

    static object? ToFloat(object? value, Args args)
    {
        object? fallback = args.Get(0, "default", 0.0);
        return value switch
        {
            long or bool or double => ToDouble(value),
            string s when s.Trim() is var t && (t is "inf" or "+inf" or "-inf" or "nan" || double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) =>
                t switch { "inf" or "+inf" => double.PositiveInfinity, "-inf" => double.NegativeInfinity, "nan" => double.NaN, _ => double.Parse(t, CultureInfo.InvariantCulture) },
            _ => fallback,
        };
    }

    static string Replace(string s, string old, string replacement, object? count)
    {
        long remaining = count is null ? long.MaxValue : ToLong(count);
        if (remaining < 0) remaining = long.MaxValue;
        if (old.Length == 0)
        {
            // Python inserts the replacement between every character and at both ends.
            var parts = Runes(s);
            var sb = new StringBuilder();
            for (int i = 0; i <= parts.Length; i++)
            {
                if (remaining-- > 0) sb.Append(replacement);
                if (i < parts.Length) sb.Append(parts[i]);
            }
            return sb.ToString();
        }
        var result = new StringBuilder();
        int at = 0;
        while (remaining-- > 0)
        {
            int found = s.IndexOf(old, at, StringComparison.Ordinal);
            if (found < 0) break;
            result.Append(s, at, found - at).Append(replacement);
            at = found + old.Length;
        }
        return result.Append(s, at, s.Length - at).ToString();
    }

    // select, reject, selectattr, rejectattr and map treat a false input (None, "", 0) as empty, as jinja2's do.
    static List<object?> IterateIfTrue(object? value) => IsTrue(value) ? Iterate(value) : [];

    static object? SelectAttribute(object? value, Args args, bool keep)
    {
        object? attribute = args.Get(0, "attribute");
        return IterateIfTrue(value).Where(item =>
        {
            object? field = GetAttributePath(item, attribute);
            bool passes = args.Positional.Count > 1
                ? ApplyTest(ToStr(args.Positional[1]), field, new Args(args.Positional.Skip(2).ToList(), new Dictionary<string, object?>()))
                : IsTrue(field);
            return passes == keep;
        }).ToList();
    }

    static object? Select(object? value, Args args, bool keep) =>
        IterateIfTrue(value).Where(item =>
        {
            bool passes = args.Positional.Count > 0
                ? ApplyTest(ToStr(args.Positional[0]), item, new Args(args.Positional.Skip(1).ToList(), new Dictionary<string, object?>()))
                : IsTrue(item);
            return passes == keep;
        }).ToList();

    static object? Map(object? value, Args args)
    {
        if (args.Keywords.TryGetValue("attribute", out object? attribute))
        {
            bool hasDefault = args.Keywords.TryGetValue("default", out object? fallback);
            return IterateIfTrue(value).Select(item =>
            {
                object? field = GetAttributePath(item, attribute);
                return hasDefault && field is Undefined ? fallback : field;
            }).ToList();
        }
        if (args.Positional.Count == 0) throw new TemplateRuntimeException("map: needs a filter name or attribute=");
        string filter = ToStr(args.Positional[0]);
        if (!filters.TryGetValue(filter, out Filter? apply)) throw new TemplateRuntimeException($"map: unknown filter '{filter}'");
        var rest = new Args(args.Positional.Skip(1).ToList(), args.Keywords);
        return IterateIfTrue(value).Select(item => apply(item, rest)).ToList();
    }

    static object? Round(object? value, Args args)
    {
        int precision = (int)ToLong(args.Get(0, "precision", 0L));
        string method = ToStr(args.Get(1, "method", "common"));
        if (!IsNumber(value)) throw new TemplateRuntimeException($"type {TypeName(value)} doesn't define __round__ method");
        if (method == "common" && value is not double) return ToLong(value); // Python's round(int, n) is the int
        double d = ToDouble(value), scale = Math.Pow(10, precision);
        return method switch
        {
            "common" => Math.Round(d, Math.Clamp(precision, 0, 15), MidpointRounding.ToEven), // Python rounds half to even
            "ceil" => Math.Ceiling(d * scale) / scale,
            "floor" => Math.Floor(d * scale) / scale,
            _ => throw new TemplateRuntimeException("round: method must be common, ceil or floor"),
        };
    }

    // Sorting and min/max compare strings case-insensitively by default, as jinja2's do.
    static object? SortKey(object? value) => value is string s ? s.ToLowerInvariant() : value;

    static object? Sort(object? value, Args args)
    {
        bool reverse = IsTrue(args.Get(0, "reverse", false));
        bool caseSensitive = IsTrue(args.Get(1, "case_sensitive", false));
        object? attribute = args.Get(2, "attribute");
        object? Key(object? item)
        {
            object? key = attribute is null ? item : GetAttributePath(item, attribute);
            return caseSensitive ? key : SortKey(key);
        }
        // Stable both ways: Python's reverse=True keeps equal items in their original order too.
        var items = Iterate(value);
        return Ordering(() => reverse ? items.OrderByDescending(Key, ordering).ToList() : items.OrderBy(Key, ordering).ToList());
    }

    static object? Extreme(object? value, string which)
    {
        var items = Iterate(value);
        if (items.Count == 0) return new Undefined($"no {which} item, sequence was empty");
        // A loop rather than MinBy/MaxBy, which skip null keys where Python compares None and fails.
        object? best = items[0];
        foreach (object? item in items.Skip(1))
        {
            int order = Compare(SortKey(item), SortKey(best));
            if (which == "min" ? order < 0 : order > 0) best = item;
        }
        return best;
    }

    static readonly Comparer<object?> ordering = Comparer<object?>.Create(Compare);

    // LINQ wraps a comparer's exception; the template's error is the inner one ("'<' not supported between …").
    static T Ordering<T>(Func<T> sort)
    {
        try
        {
            return sort();
        }
        catch (InvalidOperationException e) when (e.InnerException is TemplateRuntimeException inner)
        {
            throw inner;
        }
    }

    static object? Sum(object? value, Args args)
    {
        object? attribute = args.Get(0, "attribute");
        object? total = args.Get(1, "start", 0L);
        foreach (object? item in Iterate(value))
            total = Arithmetic("+", total, attribute is null ? item : GetAttributePath(item, attribute));
        return total;
    }

    static object? Indent(object? value, Args args)
    {
        object? width = args.Get(0, "width", 4L);
        string pad = width is string w ? w : new string(' ', (int)ToLong(width));
        bool first = IsTrue(args.Get(1, "first", false)), blank = IsTrue(args.Get(2, "blank", false));
        string text = value as string ?? throw new TemplateRuntimeException($"unsupported operand type(s) for +=: '{TypeName(value)}' and 'str'");
        string[] lines = text.Split('\n');
        var sb = new StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            if (i > 0) sb.Append('\n');
            bool indentThis = (i > 0 || first) && (blank || lines[i].Trim().Length > 0);
            if (indentThis) sb.Append(pad);
            sb.Append(lines[i]);
        }
        return sb.ToString();
    }

    static List<object?> Range(IReadOnlyList<object?> p)
    {
        long start = 0, stop, step = 1;
        if (p.Count == 1) stop = ToIndex(p[0], "range");
        else if (p.Count is 2 or 3)
        {
            start = ToIndex(p[0], "range");
            stop = ToIndex(p[1], "range");
            if (p.Count == 3) step = ToIndex(p[2], "range");
        }
        else throw new TemplateRuntimeException($"range expected 1 to 3 arguments, got {p.Count}");
        if (step == 0) throw new TemplateRuntimeException("range() arg 3 must not be zero");
        var items = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            items.Add(i);
            if (items.Count > 100_000) throw new TemplateRuntimeException("range too big (more than 100000 items)");
        }
        return items;
    }

    static string Escape(string s) =>
        s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&#34;").Replace("'", "&#39;");

    static string Capitalize(string s)
    {
        string[] runes = Runes(s);
        return runes.Length == 0 ? s : runes[0].ToUpperInvariant() + string.Concat(runes.Skip(1)).ToLowerInvariant();
    }

    // jinja2's title filter: a word starts after whitespace, "-", or an opening bracket.
    static string JinjaTitle(string s)
    {
        var sb = new StringBuilder();
        bool start = true;
        foreach (char c in s)
        {
            bool separator = char.IsWhiteSpace(c) || c is '-' or '(' or '{' or '[' or '<';
            sb.Append(separator ? c : start ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            start = separator;
        }
        return sb.ToString();
    }

    // Python's str.title: a word is a run of letters; everything else starts a new one.
    static string PythonTitle(string s)
    {
        var sb = new StringBuilder();
        bool previousCased = false;
        foreach (char c in s)
        {
            sb.Append(char.IsLetter(c) ? previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c) : c);
            previousCased = char.IsLetter(c);
        }
        return sb.ToString();
    }

    static string Strip(string s, string? chars, bool left, bool right)
    {
        Func<char, bool> strip = chars is null ? char.IsWhiteSpace : chars.Contains;
        int from = 0, to = s.Length;
        if (left) while (from < to && strip(s[from])) from++;
        if (right) while (to > from && strip(s[to - 1])) to--;
        return s[from..to];
    }

    /// <summary>Python's arithmetic on template values: numbers (bool as int, int overflow an error), string and list
    /// concatenation and repetition.</summary>
    public static object? Arithmetic(string op, object? a, object? b)
    {
        if (a is Undefined u) throw new TemplateRuntimeException(u.Reason);
        if (b is Undefined v) throw new TemplateRuntimeException(v.Reason);
        if (IsNumber(a) && IsNumber(b))
        {
            bool integral = a is not double && b is not double;
            long x = ToLong(a), y = ToLong(b);
            double p = ToDouble(a), q = ToDouble(b);
            try
            {
                switch (op)
                {
                    case "+": return integral ? checked(x + y) : (object)(p + q);
                    case "-": return integral ? checked(x - y) : (object)(p - q);
                    case "*": return integral ? checked(x * y) : (object)(p * q);
                    case "/": return q == 0 ? throw new TemplateRuntimeException("division by zero") : p / q;
                    case "//":
                        if (q == 0) throw new TemplateRuntimeException("integer division or modulo by zero");
                        return integral ? FloorDiv(x, y) : (object)Math.Floor(p / q);
                    case "%":
                        if (q == 0) throw new TemplateRuntimeException("integer division or modulo by zero");
                        return integral ? x - FloorDiv(x, y) * y : (object)(p - Math.Floor(p / q) * q);
                    case "**":
                        if (integral && y >= 0)
                        {
                            // 0, 1 and -1 never overflow: answer at once rather than loop up to 2^63 times.
                            if (x is 0 or 1) return y == 0 ? 1L : x;
                            if (x == -1) return y % 2 == 0 ? 1L : -1L;
                            long result = 1;
                            for (long i = 0; i < y; i++) result = checked(result * x);
                            return result;
                        }
                        return Math.Pow(p, q);
                }
            }
            catch (OverflowException)
            {
                throw new TemplateRuntimeException($"integer overflow in {Repr(a)} {op} {Repr(b)}");
            }
        }
        switch (op, a, b)
        {
            case ("+", string s, string t): return s + t;
            case ("+", object[] s, object[] t): return s.Concat(t).ToArray();
            case ("+", List<object?> s, List<object?> t): return s.Concat(t).ToList();
            case ("*", string or List<object?>, long or bool): return Repeat(a, ToLong(b));
            case ("*", long or bool, string or List<object?>): return Repeat(b, ToLong(a));
        }
        throw new TemplateRuntimeException($"unsupported operand type(s) for {op}: '{TypeName(a)}' and '{TypeName(b)}'");
    }

    static object Repeat(object? sequence, long times)
    {
        int n = (int)Math.Clamp(times, 0, 100_000);
        long length = sequence is string text ? text.Length : ((List<object?>)sequence!).Count;
        if (length * n > 10_000_000) throw new TemplateRuntimeException($"repeating {length} items {times} times is more than a template may produce");
        return sequence is string s ? string.Concat(Enumerable.Repeat(s, n)) : Enumerable.Repeat((List<object?>)sequence!, n).SelectMany(x => x).ToList();
    }

    static long FloorDiv(long x, long y)
    {
        long q = x / y;
        return (x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q;
    }

    static TemplateFunction Method(string name, Func<Args, object?> body) =>
        new(name, (p, k) => body(new Args(p, k)));

    // The str methods the sandbox allows and templates call.
    static TemplateFunction? StringMethod(string s, string name) => name switch
    {
        "strip" => Method(name, a => Strip(s, a.Get(0, "chars") as string, true, true)),
        "lstrip" => Method(name, a => Strip(s, a.Get(0, "chars") as string, true, false)),
        "rstrip" => Method(name, a => Strip(s, a.Get(0, "chars") as string, false, true)),
        "upper" => Method(name, _ => s.ToUpperInvariant()),
        "lower" => Method(name, _ => s.ToLowerInvariant()),
        "title" => Method(name, _ => PythonTitle(s)),
        "capitalize" => Method(name, _ => Capitalize(s)),
        "replace" => Method(name, a => Replace(s, ToStr(a.Get(0, "old")), ToStr(a.Get(1, "new")), a.Get(2, "count"))),
        "startswith" => Method(name, a => Affix(a.Get(0, "prefix")).Any(p => s.StartsWith(p, StringComparison.Ordinal))),
        "endswith" => Method(name, a => Affix(a.Get(0, "suffix")).Any(p => s.EndsWith(p, StringComparison.Ordinal))),
        "split" => Method(name, a => Split(s, a.Get(0, "sep") as string, ToLong(a.Get(1, "maxsplit", -1L)))),
        "find" => Method(name, a => (long)s.IndexOf(ToStr(a.Get(0, "sub")), StringComparison.Ordinal) is var i && i < 0 ? -1L : s[..(int)i].EnumerateRunes().Count()),
        "count" => Method(name, a => ToStr(a.Get(0, "sub")) is { Length: > 0 } sub ? (long)((s.Length - s.Replace(sub, "").Length) / sub.Length) : (long)Runes(s).Length + 1),
        "join" => Method(name, a => string.Join(s, Iterate(a.Get(0, "iterable")).Select(x => x as string ?? throw new TemplateRuntimeException($"sequence item: expected str instance, {TypeName(x)} found")))),
        "splitlines" => Method(name, _ => s.ReplaceLineEndings("\n").Split('\n').SkipLast(s.EndsWith('\n') || s.EndsWith('\r') ? 1 : 0).Cast<object?>().ToList()),
        "isdigit" => Method(name, _ => s.Length > 0 && s.All(char.IsDigit)),
        "isspace" => Method(name, _ => s.Length > 0 && s.All(char.IsWhiteSpace)),
        _ => null,
    };

    static IEnumerable<string> Affix(object? value) => value switch
    {
        string s => [s],
        object[] tuple => tuple.Select(x => x as string ?? throw new TemplateRuntimeException("startswith/endswith: tuple items must be strings")),
        _ => throw new TemplateRuntimeException($"startswith/endswith first arg must be str or a tuple of str, not {TypeName(value)}"),
    };

    static List<object?> Split(string s, string? separator, long maxSplit)
    {
        var parts = new List<object?>();
        if (separator is null)
        {
            // Python: runs of whitespace separate, leading and trailing whitespace ignored.
            int i = 0;
            while (true)
            {
                while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
                if (i >= s.Length) break;
                if (maxSplit >= 0 && parts.Count == maxSplit) { parts.Add(s[i..].TrimEnd()); break; }
                int start = i;
                while (i < s.Length && !char.IsWhiteSpace(s[i])) i++;
                parts.Add(s[start..i]);
            }
            return parts;
        }
        if (separator.Length == 0) throw new TemplateRuntimeException("empty separator");
        int at = 0;
        while (maxSplit < 0 || parts.Count < maxSplit)
        {
            int found = s.IndexOf(separator, at, StringComparison.Ordinal);
            if (found < 0) break;
            parts.Add(s[at..found]);
            at = found + separator.Length;
        }
        parts.Add(s[at..]);
        return parts;
    }

    // The dict methods templates call; mutating ones are refused by transformers' immutable sandbox, so absent here.
    static TemplateFunction? DictMethod(OrderedDictionary<string, object?> dict, string name) => name switch
    {
        "items" => Method(name, _ => Items(dict)),
        "keys" => Method(name, _ => dict.Keys.Cast<object?>().ToList()),
        "values" => Method(name, _ => dict.Values.ToList()),
        "get" => Method(name, a => a.Get(0, "key") is string k && dict.TryGetValue(k, out object? v) ? v : a.Get(1, "default")),
        _ => null,
    };
}

/// <summary>The template called <c>raise_exception(message)</c>: the renderer reports <see cref="Exception.Message"/>,
/// the template's own words, with the line.</summary>
internal sealed class TemplateRaisedException(string message) : Exception(message);
