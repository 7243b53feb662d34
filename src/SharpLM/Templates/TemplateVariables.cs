namespace SharpLM.Templates;

/// <summary>
/// Finds the variables a parsed template reads from outside, as jinja2's <c>meta.find_undeclared_variables</c> does:
/// every name read, less the names the template binds itself (set, for targets, macros and their parameters,
/// <c>loop</c>) and the globals every template has. Walking the tree rather than matching text means a name inside a
/// string literal or after a dot is never mistaken for a variable.
/// </summary>
internal static class TemplateVariables
{
    /// <summary>The free variables of <paramref name="body"/>, in order of first use.</summary>
    public static IReadOnlyList<string> Read(IReadOnlyList<Stmt> body)
    {
        var read = new List<string>();
        var bound = new HashSet<string>(TemplateBuiltins.Globals.Select(f => f.Name), StringComparer.Ordinal) { "loop" };
        Walk(body, read, bound);
        return read.Where(name => !bound.Contains(name)).Distinct(StringComparer.Ordinal).ToList();
    }

    static void Walk(IReadOnlyList<Stmt> body, List<string> read, HashSet<string> bound)
    {
        foreach (Stmt statement in body)
        {
            switch (statement)
            {
                case PrintStmt print: Walk(print.Value, read); break;
                case IfStmt branches:
                    foreach (var (condition, branch) in branches.Branches) { Walk(condition, read); Walk(branch, read, bound); }
                    Walk(branches.Else, read, bound);
                    break;
                case ForStmt loop:
                    Walk(loop.Iterable, read);
                    bound.UnionWith(loop.Targets);
                    if (loop.Filter is not null) Walk(loop.Filter, read);
                    Walk(loop.Body, read, bound);
                    Walk(loop.Else, read, bound);
                    break;
                case SetStmt set:
                    Walk(set.Value, read);
                    if (set.Attribute is null) bound.Add(set.Name); else read.Add(set.Name);
                    break;
                case SetBlockStmt block: Walk(block.Body, read, bound); bound.Add(block.Name); break;
                case MacroStmt macro:
                    bound.Add(macro.Name);
                    bound.UnionWith(macro.Parameters.Select(p => p.Name));
                    foreach (var (_, fallback) in macro.Parameters) if (fallback is not null) Walk(fallback, read);
                    Walk(macro.Body, read, bound);
                    break;
            }
        }
    }

    static void Walk(Expr expression, List<string> read)
    {
        switch (expression)
        {
            case NameExpr name: read.Add(name.Name); break;
            case ListExpr list: foreach (Expr item in list.Items) Walk(item, read); break;
            case DictExpr dict: foreach (var (key, value) in dict.Pairs) { Walk(key, read); Walk(value, read); } break;
            case AttributeExpr attribute: Walk(attribute.Target, read); break;
            case ItemExpr item: Walk(item.Target, read); Walk(item.Key, read); break;
            case SliceExpr slice:
                Walk(slice.Target, read);
                foreach (Expr? part in new[] { slice.Start, slice.Stop, slice.Step }) if (part is not null) Walk(part, read);
                break;
            case CallExpr call: Walk(call.Callee, read); Walk(call.Arguments, read); break;
            case FilterExpr filter: Walk(filter.Value, read); Walk(filter.Arguments, read); break;
            case TestExpr test: Walk(test.Value, read); Walk(test.Arguments, read); break;
            case UnaryExpr unary: Walk(unary.Operand, read); break;
            case BinaryExpr binary: Walk(binary.Left, read); Walk(binary.Right, read); break;
            case CompareExpr compare: Walk(compare.First, read); foreach (var (_, operand) in compare.Rest) Walk(operand, read); break;
            case ConditionalExpr conditional:
                Walk(conditional.Condition, read);
                Walk(conditional.Then, read);
                if (conditional.Otherwise is not null) Walk(conditional.Otherwise, read);
                break;
        }
    }

    static void Walk(Arguments arguments, List<string> read)
    {
        foreach (Expr argument in arguments.Positional) Walk(argument, read);
        foreach (var (_, value) in arguments.Keywords) Walk(value, read);
    }
}
