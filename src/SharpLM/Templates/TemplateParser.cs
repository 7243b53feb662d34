using System.Globalization;

namespace SharpLM.Templates;

/// <summary>
/// Builds the syntax tree from the lexer's tokens by recursive descent, with jinja2's grammar and precedence (lowest
/// first): conditional <c>a if c else b</c>, <c>or</c>, <c>and</c>, <c>not</c>, comparisons (<c>in</c>, <c>not in</c>,
/// chains), <c>+ -</c>, <c>~</c>, <c>* / // %</c>, <c>**</c>, unary <c>- +</c>, then primaries with their postfix
/// (<c>.attr</c>, <c>[item]</c>, <c>[a:b]</c>, calls) and filters and tests. Quirks kept on purpose because templates
/// depend on them: <c>for</c> and <c>if</c> read their expression without the conditional form (so
/// <c>for m in messages if m.role != 'system'</c> is a filtered loop), a filter applies to the nearest operand
/// (<c>'a' + x | trim</c> trims only x), a test takes one argument without parentheses (<c>x is divisibleby 3</c>),
/// and unknown filters and tests are errors when the template is parsed, as jinja2 reports them when it compiles.
/// </summary>
internal sealed class TemplateParser
{
    readonly List<Token> tokens;
    readonly TemplateDialect dialect;
    int at;
    // Nesting of expressions and blocks: a template from a stranger must not exhaust the stack (a stack overflow
    // cannot be caught); jinja2 itself stops at Python's recursion limit.
    int depth;
    const int MaxDepth = 200;

    /// <summary>Counts one level of nesting until the returned scope is disposed.</summary>
    DepthGuard Nested()
    {
        if (++depth > MaxDepth) throw new TemplateSyntaxException($"the template nests more than {MaxDepth} levels deep", Current.Line);
        return new DepthGuard(this);
    }

    readonly struct DepthGuard(TemplateParser parser) : IDisposable
    {
        public void Dispose() => parser.depth--;
    }

    TemplateParser(List<Token> tokens, TemplateDialect dialect) => (this.tokens, this.dialect) = (tokens, dialect);

    /// <summary>The statements of the template <paramref name="tokens"/> came from.</summary>
    /// <exception cref="TemplateSyntaxException">The tokens are not a template.</exception>
    public static IReadOnlyList<Stmt> Parse(List<Token> tokens, TemplateDialect dialect)
    {
        var parser = new TemplateParser(tokens, dialect);
        var (body, end) = parser.ParseBody([]);
        if (end is not null) throw new TemplateSyntaxException($"unexpected '{end}'", parser.Previous.Line);
        return body;
    }

    Token Current => tokens[at];
    Token Previous => tokens[at - 1];
    Token Peek(int ahead = 1) => tokens[Math.Min(at + ahead, tokens.Count - 1)];
    Token Next() => tokens[at++];

    TemplateSyntaxException Error(string message) => new(message, Current.Line);

    void ExpectOperator(string op)
    {
        if (!Current.IsOperator(op)) throw Error($"expected '{op}', got {Current.Describe()}");
        at++;
    }

    string ExpectName()
    {
        if (Current.Kind != TokenKind.Name) throw Error($"expected a name, got {Current.Describe()}");
        return Next().Value;
    }

    void ExpectBlockEnd()
    {
        if (Current.Kind != TokenKind.BlockEnd) throw Error($"expected end of statement block, got {Current.Describe()}");
        at++;
    }

    /// <summary>Statements up to a block tag named in <paramref name="endNames"/> (consumed up to and including its
    /// name) or the end of the template; returns the body and the end tag found, or null at the end of the template.</summary>
    (List<Stmt> Body, string? End) ParseBody(string[] endNames)
    {
        var body = new List<Stmt>();
        while (true)
        {
            Token token = Current;
            switch (token.Kind)
            {
                case TokenKind.EndOfTemplate:
                    if (endNames.Length > 0)
                        throw Error($"unexpected end of template, expected {string.Join(" or ", endNames.Select(n => $"'{n}'"))}");
                    return (body, null);
                case TokenKind.Text:
                    body.Add(new TextStmt(token.Value, token.Line));
                    at++;
                    break;
                case TokenKind.VariableBegin:
                    at++;
                    body.Add(new PrintStmt(ParseTuple(withCondition: true), token.Line));
                    if (Current.Kind != TokenKind.VariableEnd) throw Error($"expected end of print statement, got {Current.Describe()}");
                    at++;
                    break;
                case TokenKind.BlockBegin:
                    at++;
                    if (Current.Kind == TokenKind.Name && endNames.Contains(Current.Value))
                        return (body, Next().Value);
                    body.Add(ParseStatement());
                    break;
                default:
                    throw Error($"unexpected {token.Describe()}");
            }
        }
    }

    Stmt ParseStatement()
    {
        using var _ = Nested();
        int line = Current.Line;
        string tag = Current.Kind == TokenKind.Name ? Next().Value : throw Error($"expected a tag name, got {Current.Describe()}");
        switch (tag)
        {
            case "if": return ParseIf(line);
            case "for": return ParseFor(line);
            case "set": return ParseSet(line);
            case "macro": return ParseMacro(line);
            case "break":
            case "continue":
                ExpectBlockEnd();
                return new LoopControlStmt(tag == "break", line);
            case "endif" or "endfor" or "else" or "elif" or "endset" or "endmacro":
                throw new TemplateSyntaxException($"unexpected '{tag}'", line);
            default:
                throw new TemplateSyntaxException($"unknown tag '{tag}'", line);
        }
    }

    IfStmt ParseIf(int line)
    {
        var branches = new List<(Expr, IReadOnlyList<Stmt>)>();
        List<Stmt> otherwise = [];
        Expr condition = ParseTuple(withCondition: false);
        while (true)
        {
            ExpectBlockEnd();
            var (body, end) = ParseBody(["elif", "else", "endif"]);
            branches.Add((condition, body));
            if (end == "elif") { condition = ParseTuple(withCondition: false); continue; }
            if (end == "else")
            {
                ExpectBlockEnd();
                (otherwise, _) = ParseBody(["endif"]);
            }
            ExpectBlockEnd();
            return new IfStmt(branches, otherwise, line);
        }
    }

    ForStmt ParseFor(int line)
    {
        var targets = new List<string> { ExpectName() };
        while (Current.IsOperator(",")) { at++; targets.Add(ExpectName()); }
        if (!Current.IsName("in")) throw Error($"expected 'in', got {Current.Describe()}");
        at++;
        Expr iterable = ParseTuple(withCondition: false);
        Expr? filter = null;
        if (Current.IsName("if")) { at++; filter = ParseExpression(withCondition: true); }
        if (Current.IsName("recursive")) throw Error("recursive loops are not supported");
        ExpectBlockEnd();
        var (body, end) = ParseBody(["endfor", "else"]);
        List<Stmt> otherwise = [];
        if (end == "else")
        {
            ExpectBlockEnd();
            (otherwise, _) = ParseBody(["endfor"]);
        }
        ExpectBlockEnd();
        return new ForStmt(targets, iterable, filter, body, otherwise, line);
    }

    Stmt ParseSet(int line)
    {
        string name = ExpectName();
        string? attribute = null;
        if (Current.IsOperator(".")) { at++; attribute = ExpectName(); }
        if (attribute is null && Current.Kind == TokenKind.BlockEnd)
        {
            at++;
            var (body, _) = ParseBody(["endset"]);
            ExpectBlockEnd();
            return new SetBlockStmt(name, body, line);
        }
        ExpectOperator("=");
        Expr value = ParseTuple(withCondition: true);
        ExpectBlockEnd();
        return new SetStmt(name, attribute, value, line);
    }

    MacroStmt ParseMacro(int line)
    {
        string name = ExpectName();
        var parameters = new List<(string, Expr?)>();
        ExpectOperator("(");
        while (!Current.IsOperator(")"))
        {
            if (parameters.Count > 0) ExpectOperator(",");
            if (Current.IsOperator(")")) break;
            string parameter = ExpectName();
            Expr? defaultValue = null;
            if (Current.IsOperator("=")) { at++; defaultValue = ParseExpression(withCondition: true); }
            else if (parameters.Any(p => p.Item2 is not null)) throw Error("non-default argument follows default argument");
            parameters.Add((parameter, defaultValue));
        }
        at++;
        ExpectBlockEnd();
        var (body, _) = ParseBody(["endmacro"]);
        if (Current.Kind == TokenKind.Name) at++; // {% endmacro name %}
        ExpectBlockEnd();
        return new MacroStmt(name, parameters, body, line);
    }

    // An expression, or a tuple when items are separated by commas ({{ a, b }}, {% set x = 1, 2 %}).
    Expr ParseTuple(bool withCondition)
    {
        int line = Current.Line;
        Expr first = ParseExpression(withCondition);
        if (!Current.IsOperator(",")) return first;
        var items = new List<Expr> { first };
        while (Current.IsOperator(","))
        {
            at++;
            if (Current.Kind is TokenKind.BlockEnd or TokenKind.VariableEnd) break;
            items.Add(ParseExpression(withCondition));
        }
        return new ListExpr(items, IsTuple: true, line);
    }

    Expr ParseExpression(bool withCondition) => withCondition ? ParseConditional() : ParseOr();

    Expr ParseConditional()
    {
        Expr value = ParseOr();
        while (Current.IsName("if"))
        {
            int line = Next().Line;
            Expr condition = ParseOr();
            Expr? otherwise = null;
            if (Current.IsName("else")) { at++; otherwise = ParseConditional(); }
            value = new ConditionalExpr(condition, value, otherwise, line);
        }
        return value;
    }

    Expr ParseOr()
    {
        Expr left = ParseAnd();
        while (Current.IsName("or")) { int line = Next().Line; left = new BinaryExpr("or", left, ParseAnd(), line); }
        return left;
    }

    Expr ParseAnd()
    {
        Expr left = ParseNot();
        while (Current.IsName("and")) { int line = Next().Line; left = new BinaryExpr("and", left, ParseNot(), line); }
        return left;
    }

    Expr ParseNot()
    {
        if (Current.IsName("not")) { int line = Next().Line; return new UnaryExpr("not", ParseNot(), line); }
        return ParseCompare();
    }

    Expr ParseCompare()
    {
        int line = Current.Line;
        Expr first = ParseAdditive();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && Current.Value is "==" or "!=" or "<" or "<=" or ">" or ">=")
                rest.Add((Next().Value, ParseAdditive()));
            else if (Current.IsName("in")) { at++; rest.Add(("in", ParseAdditive())); }
            else if (Current.IsName("not") && Peek().IsName("in")) { at += 2; rest.Add(("not in", ParseAdditive())); }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest, line);
    }

    Expr ParseAdditive()
    {
        Expr left = ParseConcat();
        while (Current.IsOperator("+") || Current.IsOperator("-")) { Token op = Next(); left = new BinaryExpr(op.Value, left, ParseConcat(), op.Line); }
        return left;
    }

    Expr ParseConcat()
    {
        Expr left = ParseMultiplicative();
        while (Current.IsOperator("~")) { int line = Next().Line; left = new BinaryExpr("~", left, ParseMultiplicative(), line); }
        return left;
    }

    Expr ParseMultiplicative()
    {
        Expr left = ParsePower();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            Token op = Next();
            left = new BinaryExpr(op.Value, left, ParsePower(), op.Line);
        }
        return left;
    }

    Expr ParsePower()
    {
        Expr left = ParseUnary(withFilter: true);
        while (Current.IsOperator("**")) { int line = Next().Line; left = new BinaryExpr("**", left, ParseUnary(withFilter: true), line); }
        return left;
    }

    Expr ParseUnary(bool withFilter)
    {
        using var _ = Nested();
        Expr node;
        if (Current.IsOperator("-") || Current.IsOperator("+"))
        {
            Token op = Next();
            node = new UnaryExpr(op.Value, ParseUnary(withFilter: false), op.Line);
        }
        else node = ParsePrimary();
        node = ParsePostfix(node);
        return withFilter ? ParseFiltersAndTests(node) : node;
    }

    Expr ParsePrimary()
    {
        Token token = Next();
        switch (token.Kind)
        {
            case TokenKind.Name:
                return token.Value switch
                {
                    "true" or "True" => new LiteralExpr(true, token.Line),
                    "false" or "False" => new LiteralExpr(false, token.Line),
                    "none" or "None" => new LiteralExpr(null, token.Line),
                    _ => new NameExpr(token.Value, token.Line),
                };
            case TokenKind.String:
                string text = token.Value;
                while (Current.Kind == TokenKind.String) text += Next().Value; // "a" "b" is "ab", as in Python
                return new LiteralExpr(text, token.Line);
            case TokenKind.Integer:
                return long.TryParse(token.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long l)
                    ? new LiteralExpr(l, token.Line)
                    : throw new TemplateSyntaxException($"integer {token.Value} is too large", token.Line);
            case TokenKind.Float:
                return new LiteralExpr(double.Parse(token.Value, CultureInfo.InvariantCulture), token.Line);
            case TokenKind.Operator when token.Value == "(":
                if (Current.IsOperator(")")) { at++; return new ListExpr([], IsTuple: true, token.Line); }
                Expr inner = ParseExpression(withCondition: true);
                if (Current.IsOperator(")")) { at++; return inner; }
                var items = new List<Expr> { inner };
                while (Current.IsOperator(","))
                {
                    at++;
                    if (Current.IsOperator(")")) break;
                    items.Add(ParseExpression(withCondition: true));
                }
                ExpectOperator(")");
                return new ListExpr(items, IsTuple: true, token.Line);
            case TokenKind.Operator when token.Value == "[":
                var list = new List<Expr>();
                while (!Current.IsOperator("]"))
                {
                    if (list.Count > 0) ExpectOperator(",");
                    if (Current.IsOperator("]")) break;
                    list.Add(ParseExpression(withCondition: true));
                }
                at++;
                return new ListExpr(list, IsTuple: false, token.Line);
            case TokenKind.Operator when token.Value == "{":
                var pairs = new List<(Expr, Expr)>();
                while (!Current.IsOperator("}"))
                {
                    if (pairs.Count > 0) ExpectOperator(",");
                    if (Current.IsOperator("}")) break;
                    Expr key = ParseExpression(withCondition: true);
                    ExpectOperator(":");
                    pairs.Add((key, ParseExpression(withCondition: true)));
                }
                at++;
                return new DictExpr(pairs, token.Line);
            default:
                at--;
                throw Error($"unexpected {token.Describe()}");
        }
    }

    Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator("."))
            {
                int line = Next().Line;
                Token name = Next();
                node = name.Kind switch
                {
                    TokenKind.Name => new AttributeExpr(node, name.Value, line),
                    TokenKind.Integer => new ItemExpr(node, new LiteralExpr(long.Parse(name.Value, CultureInfo.InvariantCulture), line), line),
                    _ => throw new TemplateSyntaxException($"expected a name after '.', got {name.Describe()}", name.Line),
                };
            }
            else if (Current.IsOperator("[")) node = ParseSubscript(node, Next().Line);
            else if (Current.IsOperator("(")) { int line = Current.Line; node = new CallExpr(node, ParseCallArguments(), line); }
            else return node;
        }
    }

    Expr ParseSubscript(Expr node, int line)
    {
        Expr? start = null, stop = null, step = null;
        if (!Current.IsOperator(":"))
        {
            start = ParseExpression(withCondition: true);
            if (Current.IsOperator("]")) { at++; return new ItemExpr(node, start, line); }
        }
        ExpectOperator(":");
        if (!Current.IsOperator("]") && !Current.IsOperator(":")) stop = ParseExpression(withCondition: true);
        if (Current.IsOperator(":"))
        {
            at++;
            if (!Current.IsOperator("]")) step = ParseExpression(withCondition: true);
        }
        ExpectOperator("]");
        return new SliceExpr(node, start, stop, step, line);
    }

    Arguments ParseCallArguments()
    {
        ExpectOperator("(");
        var positional = new List<Expr>();
        var keywords = new List<(string, Expr)>();
        while (!Current.IsOperator(")"))
        {
            if (positional.Count + keywords.Count > 0) ExpectOperator(",");
            if (Current.IsOperator(")")) break;
            if (Current.Kind == TokenKind.Name && Peek().IsOperator("="))
            {
                string name = Next().Value;
                at++;
                keywords.Add((name, ParseExpression(withCondition: true)));
            }
            else if (keywords.Count > 0) throw Error("positional argument follows keyword argument");
            else positional.Add(ParseExpression(withCondition: true));
        }
        at++;
        return new Arguments(positional, keywords);
    }

    Expr ParseFiltersAndTests(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator("|"))
            {
                int line = Next().Line;
                string name = ExpectName();
                if (!dialect.HasFilter(name)) throw new TemplateSyntaxException($"unknown filter '{name}'", line);
                Arguments arguments = Current.IsOperator("(") ? ParseCallArguments() : Arguments.None;
                node = new FilterExpr(node, name, arguments, line);
            }
            else if (Current.IsName("is"))
            {
                int line = Next().Line;
                bool negated = false;
                if (Current.IsName("not")) { at++; negated = true; }
                string name = ExpectName();
                if (!TemplateBuiltins.HasTest(name)) throw new TemplateSyntaxException($"unknown test '{name}'", line);
                Arguments arguments = Arguments.None;
                if (Current.IsOperator("(")) arguments = ParseCallArguments();
                else if ((Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                          || Current.IsOperator("[") || Current.IsOperator("{"))
                         && !Current.IsName("else") && !Current.IsName("or") && !Current.IsName("and"))
                {
                    // jinja2 reads one argument without parentheses: "x is divisibleby 3", "x is sameas none".
                    if (Current.IsName("is")) throw Error("you cannot chain multiple tests with is");
                    arguments = new Arguments([ParsePostfix(ParsePrimary())], []);
                }
                node = new TestExpr(node, name, negated, arguments, line);
            }
            else if (Current.IsOperator("(")) { int line = Current.Line; node = new CallExpr(node, ParseCallArguments(), line); }
            else return node;
        }
    }
}
