namespace SharpLM.Templates;

// The syntax tree the parser builds and the renderer walks. Every node keeps the line it starts on, for errors.

/// <summary>An expression: something with a value.</summary>
internal abstract record Expr(int Line);

/// <summary>A literal number, string, boolean or none.</summary>
internal sealed record LiteralExpr(object? Value, int Line) : Expr(Line);

/// <summary>A variable read.</summary>
internal sealed record NameExpr(string Name, int Line) : Expr(Line);

/// <summary><c>[a, b]</c>, or <c>(a, b)</c> when <see cref="IsTuple"/>.</summary>
internal sealed record ListExpr(IReadOnlyList<Expr> Items, bool IsTuple, int Line) : Expr(Line);

/// <summary><c>{k: v, …}</c>.</summary>
internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Pairs, int Line) : Expr(Line);

/// <summary><c>x.name</c>: jinja2 prefers the attribute (a dict's <c>items</c> method) over the item.</summary>
internal sealed record AttributeExpr(Expr Target, string Name, int Line) : Expr(Line);

/// <summary><c>x[key]</c>: jinja2 prefers the item over the attribute.</summary>
internal sealed record ItemExpr(Expr Target, Expr Key, int Line) : Expr(Line);

/// <summary><c>x[start:stop:step]</c>, any part optional.</summary>
internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Line) : Expr(Line);

/// <summary>Positional and keyword arguments of a call, filter or test.</summary>
internal sealed record Arguments(IReadOnlyList<Expr> Positional, IReadOnlyList<(string Name, Expr Value)> Keywords)
{
    /// <summary>No arguments.</summary>
    public static Arguments None { get; } = new([], []);
}

/// <summary><c>f(args)</c>.</summary>
internal sealed record CallExpr(Expr Callee, Arguments Arguments, int Line) : Expr(Line);

/// <summary><c>value | name(args)</c>.</summary>
internal sealed record FilterExpr(Expr Value, string Name, Arguments Arguments, int Line) : Expr(Line);

/// <summary><c>value is [not] name(args)</c>.</summary>
internal sealed record TestExpr(Expr Value, string Name, bool Negated, Arguments Arguments, int Line) : Expr(Line);

/// <summary><c>-x</c>, <c>+x</c>, <c>not x</c>.</summary>
internal sealed record UnaryExpr(string Operator, Expr Operand, int Line) : Expr(Line);

/// <summary>Arithmetic, <c>~</c>, <c>and</c>, <c>or</c> (the last two short-circuit and yield an operand, as Python's do).</summary>
internal sealed record BinaryExpr(string Operator, Expr Left, Expr Right, int Line) : Expr(Line);

/// <summary>A comparison chain <c>a &lt; b &lt;= c</c> (Python's: each link must hold); operators include <c>in</c> and <c>not in</c>.</summary>
internal sealed record CompareExpr(Expr First, IReadOnlyList<(string Operator, Expr Operand)> Rest, int Line) : Expr(Line);

/// <summary><c>then if condition else otherwise</c>; without <c>else</c> the value is undefined when the condition fails.</summary>
internal sealed record ConditionalExpr(Expr Condition, Expr Then, Expr? Otherwise, int Line) : Expr(Line);

/// <summary>A statement: something that writes output or changes variables.</summary>
internal abstract record Stmt(int Line);

/// <summary>Template text, written as is.</summary>
internal sealed record TextStmt(string Text, int Line) : Stmt(Line);

/// <summary><c>{{ expr }}</c>.</summary>
internal sealed record PrintStmt(Expr Value, int Line) : Stmt(Line);

/// <summary><c>{% if %}…{% elif %}…{% else %}…{% endif %}</c> as a list of (condition, body) and the else body.</summary>
internal sealed record IfStmt(IReadOnlyList<(Expr Condition, IReadOnlyList<Stmt> Body)> Branches, IReadOnlyList<Stmt> Else, int Line) : Stmt(Line);

/// <summary><c>{% for a, b in items if filter %}…{% else %}…{% endfor %}</c>.</summary>
internal sealed record ForStmt(IReadOnlyList<string> Targets, Expr Iterable, Expr? Filter, IReadOnlyList<Stmt> Body, IReadOnlyList<Stmt> Else, int Line) : Stmt(Line);

/// <summary><c>{% set name = value %}</c>, or <c>{% set ns.attr = value %}</c> when <see cref="Attribute"/> is set.</summary>
internal sealed record SetStmt(string Name, string? Attribute, Expr Value, int Line) : Stmt(Line);

/// <summary><c>{% set name %}…{% endset %}</c>: the body's output as a string.</summary>
internal sealed record SetBlockStmt(string Name, IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

/// <summary><c>{% macro name(a, b=default) %}…{% endmacro %}</c>.</summary>
internal sealed record MacroStmt(string Name, IReadOnlyList<(string Name, Expr? Default)> Parameters, IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

/// <summary><c>{% break %}</c> or <c>{% continue %}</c> (jinja2's loopcontrols extension, which transformers enables).</summary>
internal sealed record LoopControlStmt(bool IsBreak, int Line) : Stmt(Line);
