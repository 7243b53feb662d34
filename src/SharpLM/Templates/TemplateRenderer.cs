using System.Text;
using static SharpLM.Templates.TemplateValues;

namespace SharpLM.Templates;

/// <summary>
/// Walks the syntax tree and writes the output. Scoping follows jinja2: <c>if</c> shares its scope, each iteration of
/// a <c>for</c> loop gets a fresh one (so <c>{% set %}</c> in a loop never leaks out, which is why templates use
/// <c>namespace</c>), and a macro call runs in a child of the scope it was defined in. Every error raised while
/// evaluating a node is reported with that node's line.
/// </summary>
internal sealed class TemplateRenderer
{
    enum Flow { Normal, Break, Continue }

    /// <summary>Variables visible at one level; lookups walk outwards.</summary>
    sealed class Scope(Scope? parent)
    {
        readonly Scope? parent = parent;
        readonly Dictionary<string, object?> variables = new(StringComparer.Ordinal);

        public bool TryGet(string name, out object? value)
        {
            for (Scope? s = this; s is not null; s = s.parent)
                if (s.variables.TryGetValue(name, out value)) return true;
            value = null;
            return false;
        }

        public void Set(string name, object? value) => variables[name] = value;
    }

    readonly string sourceName;
    readonly TemplateDialect dialect;

    TemplateRenderer(string sourceName, TemplateDialect dialect) => (this.sourceName, this.dialect) = (sourceName, dialect);

    /// <summary>Renders <paramref name="body"/> with <paramref name="variables"/> over the built-in globals.</summary>
    /// <exception cref="InvalidInputException">A runtime error or <c>raise_exception</c>; names <paramref name="sourceName"/> and the line.</exception>
    public static string Render(IReadOnlyList<Stmt> body, IReadOnlyDictionary<string, object?> variables, string sourceName, TemplateDialect dialect)
    {
        var output = new StringBuilder();
        new TemplateRenderer(sourceName, dialect).Execute(body, TopScope(variables), output);
        return output.ToString();
    }

    /// <summary>The value of <paramref name="expression"/> with <paramref name="variables"/> over the built-in globals.</summary>
    /// <exception cref="InvalidInputException">A runtime error; names <paramref name="sourceName"/> and the line.</exception>
    public static object? Evaluate(Expr expression, IReadOnlyDictionary<string, object?> variables, string sourceName, TemplateDialect dialect) =>
        new TemplateRenderer(sourceName, dialect).Evaluate(expression, TopScope(variables));

    static Scope TopScope(IReadOnlyDictionary<string, object?> variables)
    {
        var globals = new Scope(null);
        foreach (TemplateFunction function in TemplateBuiltins.Globals) globals.Set(function.Name, function);
        var scope = new Scope(globals);
        foreach (var (name, value) in variables) scope.Set(name, value);
        return scope;
    }

    InvalidInputException Fail(int line, Exception e) => new($"{sourceName} line {line}: {e.Message}", e);

    Flow Execute(IReadOnlyList<Stmt> body, Scope scope, StringBuilder output)
    {
        foreach (Stmt statement in body)
        {
            Flow flow;
            try
            {
                flow = Execute(statement, scope, output);
            }
            catch (Exception e) when (e is TemplateRuntimeException or TemplateRaisedException)
            {
                throw Fail(statement.Line, e);
            }
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    Flow Execute(Stmt statement, Scope scope, StringBuilder output)
    {
        switch (statement)
        {
            case TextStmt text:
                output.Append(text.Text);
                return Flow.Normal;
            case PrintStmt print:
                output.Append(ToStr(Evaluate(print.Value, scope)));
                return Flow.Normal;
            case IfStmt branches:
                foreach (var (condition, body) in branches.Branches)
                    if (IsTrue(Evaluate(condition, scope))) return Execute(body, scope, output);
                return Execute(branches.Else, scope, output);
            case ForStmt loop:
                return ExecuteFor(loop, scope, output);
            case SetStmt set when set.Attribute is null:
                scope.Set(set.Name, Evaluate(set.Value, scope));
                return Flow.Normal;
            case SetStmt { Attribute: { } attribute } set:
                if (!scope.TryGet(set.Name, out object? target) || target is not TemplateNamespace ns)
                    throw new TemplateRuntimeException($"cannot assign attribute on non-namespace object '{set.Name}'");
                ns.Attributes[attribute] = Evaluate(set.Value, scope);
                return Flow.Normal;
            case SetBlockStmt block:
                var captured = new StringBuilder();
                Execute(block.Body, scope, captured);
                scope.Set(block.Name, captured.ToString());
                return Flow.Normal;
            case MacroStmt macro:
                scope.Set(macro.Name, DefineMacro(macro, scope));
                return Flow.Normal;
            case LoopControlStmt control:
                return control.IsBreak ? Flow.Break : Flow.Continue;
            default:
                throw new InvalidOperationException($"unknown statement {statement.GetType().Name}");
        }
    }

    Flow ExecuteFor(ForStmt loop, Scope scope, StringBuilder output)
    {
        var items = TemplateBuiltins.Iterate(Evaluate(loop.Iterable, scope));
        if (loop.Filter is not null)
            items = items.Where(item => IsTrue(Evaluate(loop.Filter, Bind(loop, item, new Scope(scope))))).ToList();
        for (int i = 0; i < items.Count; i++)
        {
            var iteration = Bind(loop, items[i], new Scope(scope));
            iteration.Set("loop", LoopObject(items, i));
            if (Execute(loop.Body, iteration, output) == Flow.Break) break;
        }
        if (items.Count == 0) Execute(loop.Else, scope, output);
        return Flow.Normal;
    }

    // Assigns the loop target(s): "for k, v in pairs" unpacks each item as Python does.
    static Scope Bind(ForStmt loop, object? item, Scope scope)
    {
        if (loop.Targets.Count == 1) { scope.Set(loop.Targets[0], item); return scope; }
        var parts = TemplateBuiltins.Iterate(item);
        if (parts.Count != loop.Targets.Count)
            throw new TemplateRuntimeException(parts.Count > loop.Targets.Count
                ? $"too many values to unpack (expected {loop.Targets.Count})"
                : $"not enough values to unpack (expected {loop.Targets.Count}, got {parts.Count})");
        for (int i = 0; i < parts.Count; i++) scope.Set(loop.Targets[i], parts[i]);
        return scope;
    }

    // jinja2's LoopContext, as a dict so that loop.index and loop['index'] both work.
    static OrderedDictionary<string, object?> LoopObject(List<object?> items, int i)
    {
        var loop = NewDict();
        loop["index"] = (long)i + 1;
        loop["index0"] = (long)i;
        loop["revindex"] = (long)(items.Count - i);
        loop["revindex0"] = (long)(items.Count - i - 1);
        loop["first"] = i == 0;
        loop["last"] = i == items.Count - 1;
        loop["length"] = (long)items.Count;
        loop["depth"] = 1L;
        loop["depth0"] = 0L;
        loop["previtem"] = i > 0 ? items[i - 1] : new Undefined("there is no previous item");
        loop["nextitem"] = i + 1 < items.Count ? items[i + 1] : new Undefined("there is no next item");
        loop["cycle"] = new TemplateFunction("cycle", (p, _) =>
            p.Count > 0 ? p[i % p.Count] : throw new TemplateRuntimeException("no items for cycling given"));
        return loop;
    }

    // Macro calls in progress: a macro that calls itself must fail, not exhaust the stack.
    int macroDepth;
    const int MaxMacroDepth = 100;

    TemplateFunction DefineMacro(MacroStmt macro, Scope definedIn) => new(macro.Name, (positional, keywords) =>
    {
        if (macroDepth >= MaxMacroDepth) throw new TemplateRuntimeException($"macro '{macro.Name}': more than {MaxMacroDepth} macro calls in progress (runaway recursion)");
        if (positional.Count > macro.Parameters.Count)
            throw new TemplateRuntimeException($"macro '{macro.Name}' takes not more than {macro.Parameters.Count} argument(s)");
        var scope = new Scope(definedIn);
        for (int i = 0; i < macro.Parameters.Count; i++)
        {
            var (name, fallback) = macro.Parameters[i];
            object? value = i < positional.Count ? positional[i]
                : keywords.TryGetValue(name, out object? k) ? k
                : fallback is not null ? Evaluate(fallback, scope)
                : new Undefined($"parameter '{name}' was not provided");
            scope.Set(name, value);
        }
        foreach (string name in keywords.Keys)
            if (!macro.Parameters.Any(p => p.Name == name))
                throw new TemplateRuntimeException($"macro '{macro.Name}' takes no keyword argument '{name}'");
        var output = new StringBuilder();
        macroDepth++;
        try
        {
            Execute(macro.Body, scope, output);
        }
        finally
        {
            macroDepth--;
        }
        return output.ToString();
    });

    // mayBeUndefined: the operand of "is defined", "is undefined" and "default", which strict undefined lets through.
    object? Evaluate(Expr expression, Scope scope, bool mayBeUndefined = false)
    {
        try
        {
            object? value = EvaluateUnchecked(expression, scope);
            if (value is Undefined undefined && dialect.StrictUndefined && !mayBeUndefined && expression is NameExpr or AttributeExpr or ItemExpr)
                throw new TemplateRuntimeException(undefined.Reason);
            return value;
        }
        catch (Exception e) when (e is TemplateRuntimeException or TemplateRaisedException)
        {
            throw Fail(expression.Line, e);
        }
    }

    object? EvaluateUnchecked(Expr expression, Scope scope)
    {
        switch (expression)
        {
            case LiteralExpr literal:
                return literal.Value;
            case NameExpr name:
                return scope.TryGet(name.Name, out object? value) ? value : Undefined.Variable(name.Name);
            case ListExpr list:
                var items = list.Items.Select(item => Evaluate(item, scope)).ToList();
                return list.IsTuple ? items.ToArray() : items;
            case DictExpr dict:
                var result = NewDict();
                foreach (var (key, item) in dict.Pairs)
                    result[Evaluate(key, scope) as string ?? throw new TemplateRuntimeException("dict keys must be strings")] = Evaluate(item, scope);
                return result;
            case AttributeExpr attribute:
                return TemplateBuiltins.GetAttribute(Evaluate(attribute.Target, scope), attribute.Name);
            case ItemExpr item:
                return TemplateBuiltins.GetItem(Evaluate(item.Target, scope), Evaluate(item.Key, scope));
            case SliceExpr slice:
                return TemplateBuiltins.Slice(Evaluate(slice.Target, scope), Optional(slice.Start, scope), Optional(slice.Stop, scope), Optional(slice.Step, scope));
            case CallExpr call:
                object? callee = Evaluate(call.Callee, scope);
                var (positional, keywords) = EvaluateArguments(call.Arguments, scope);
                return callee switch
                {
                    TemplateFunction function => function.Invoke(positional, keywords),
                    Undefined u => throw new TemplateRuntimeException(u.Reason),
                    _ => throw new TemplateRuntimeException($"'{TypeName(callee)}' object is not callable"),
                };
            case FilterExpr filter:
                object? input = Evaluate(filter.Value, scope, mayBeUndefined: filter.Name is "default" or "d");
                var filterArguments = EvaluateArguments(filter.Arguments, scope);
                return dialect.ApplyFilter(filter.Name, input, new TemplateBuiltins.Args(filterArguments.Positional, filterArguments.Keywords));
            case TestExpr test:
                object? tested = Evaluate(test.Value, scope, mayBeUndefined: test.Name is "defined" or "undefined");
                var testArguments = EvaluateArguments(test.Arguments, scope);
                return TemplateBuiltins.ApplyTest(test.Name, tested, new TemplateBuiltins.Args(testArguments.Positional, testArguments.Keywords)) != test.Negated;
            case UnaryExpr unary:
                object? operand = Evaluate(unary.Operand, scope);
                return unary.Operator switch
                {
                    "not" => !IsTrue(operand),
                    "-" => operand switch
                    {
                        long l => l == long.MinValue ? throw new TemplateRuntimeException("integer overflow") : (object)(-l),
                        bool b => b ? -1L : 0L,
                        double d => -d,
                        Undefined u => throw new TemplateRuntimeException(u.Reason),
                        _ => throw new TemplateRuntimeException($"bad operand type for unary -: '{TypeName(operand)}'"),
                    },
                    _ => operand switch
                    {
                        long or double => operand,
                        bool b => b ? 1L : 0L,
                        Undefined u => throw new TemplateRuntimeException(u.Reason),
                        _ => throw new TemplateRuntimeException($"bad operand type for unary +: '{TypeName(operand)}'"),
                    },
                };
            case BinaryExpr { Operator: "and" } and:
                object? left = Evaluate(and.Left, scope);
                return IsTrue(left) ? Evaluate(and.Right, scope) : left;
            case BinaryExpr { Operator: "or" } or:
                object? first = Evaluate(or.Left, scope);
                return IsTrue(first) ? first : Evaluate(or.Right, scope);
            case BinaryExpr { Operator: "~" } concat:
                return ToStr(Evaluate(concat.Left, scope)) + ToStr(Evaluate(concat.Right, scope));
            case BinaryExpr binary:
                return TemplateBuiltins.Arithmetic(binary.Operator, Evaluate(binary.Left, scope), Evaluate(binary.Right, scope));
            case CompareExpr compare:
                object? current = Evaluate(compare.First, scope);
                foreach (var (op, operandExpr) in compare.Rest)
                {
                    object? next = Evaluate(operandExpr, scope);
                    if (!Holds(op, current, next)) return false;
                    current = next;
                }
                return true;
            case ConditionalExpr conditional:
                return IsTrue(Evaluate(conditional.Condition, scope)) ? Evaluate(conditional.Then, scope)
                    : conditional.Otherwise is not null ? Evaluate(conditional.Otherwise, scope)
                    : new Undefined("the inline if-expression evaluated to false and no else section was defined");
            default:
                throw new InvalidOperationException($"unknown expression {expression.GetType().Name}");
        }
    }

    object? Optional(Expr? expression, Scope scope) => expression is null ? null : Evaluate(expression, scope);

    (List<object?> Positional, Dictionary<string, object?> Keywords) EvaluateArguments(Arguments arguments, Scope scope) =>
        (arguments.Positional.Select(a => Evaluate(a, scope)).ToList(),
         arguments.Keywords.ToDictionary(k => k.Name, k => Evaluate(k.Value, scope), StringComparer.Ordinal));

    static bool Holds(string op, object? a, object? b) => op switch
    {
        "==" => AreEqual(a, b),
        "!=" => !AreEqual(a, b),
        "<" => Ordered(a, b) < 0,
        "<=" => Ordered(a, b) <= 0,
        ">" => Ordered(a, b) > 0,
        ">=" => Ordered(a, b) >= 0,
        "in" => TemplateBuiltins.Contains(b, a),
        "not in" => !TemplateBuiltins.Contains(b, a),
        _ => throw new InvalidOperationException($"unknown comparison {op}"),
    };

    static int Ordered(object? a, object? b)
    {
        if (a is Undefined u) throw new TemplateRuntimeException(u.Reason);
        if (b is Undefined v) throw new TemplateRuntimeException(v.Reason);
        return Compare(a, b);
    }
}
