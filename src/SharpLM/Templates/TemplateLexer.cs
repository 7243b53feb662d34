using System.Globalization;
using System.Text;

namespace SharpLM.Templates;

/// <summary>The kinds of token the lexer produces.</summary>
internal enum TokenKind { Text, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, EndOfTemplate }

/// <summary>One token: its kind, its text (the literal's value for strings and numbers) and the line it starts on.</summary>
internal readonly record struct Token(TokenKind Kind, string Value, int Line)
{
    /// <summary>Whether this is the operator <paramref name="op"/>.</summary>
    public bool IsOperator(string op) => Kind == TokenKind.Operator && Value == op;

    /// <summary>Whether this is the name (or keyword) <paramref name="name"/>.</summary>
    public bool IsName(string name) => Kind == TokenKind.Name && Value == name;

    /// <summary>How errors show the token, as jinja2 does ("end of statement block", "'foo'").</summary>
    public string Describe() => Kind switch
    {
        TokenKind.BlockEnd => "end of statement block",
        TokenKind.VariableEnd => "end of print statement",
        TokenKind.EndOfTemplate => "end of template",
        TokenKind.Text => "template data",
        _ => $"'{Value}'",
    };
}

/// <summary>
/// Splits a template into text and tag tokens, and tags into expression tokens, applying whitespace control exactly
/// as jinja2's lexer does with the settings transformers uses (<c>trim_blocks=True, lstrip_blocks=True</c>,
/// <c>keep_trailing_newline=False</c>): every line ending is read as "\n" and one final newline dropped; a block or
/// comment tag alone on its line takes its indentation (lstrip) and the newline after it (trim); <c>-</c> inside a
/// delimiter strips all whitespace on that side, <c>+</c> before a block disables lstrip. Getting these byte-exact
/// is most of what makes a chat template render as Hugging Face's does.
/// </summary>
internal static class TemplateLexer
{
    // Longest first, so "//" is not read as two "/".
    static readonly string[] operators =
        ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    /// <summary>The tokens of <paramref name="source"/>, ending with <see cref="TokenKind.EndOfTemplate"/>; whitespace control as <paramref name="dialect"/> says.</summary>
    /// <exception cref="TemplateSyntaxException">An unclosed tag or string, or a character no token starts with.</exception>
    public static List<Token> Tokenize(string source, TemplateDialect dialect)
    {
        source = source.ReplaceLineEndings("\n");
        if (!dialect.KeepTrailingNewline && source.EndsWith('\n')) source = source[..^1];
        bool trimBlocks = dialect.TrimBlocks;
        var tokens = new List<Token>();
        int pos = 0, line = 1;
        bool lineStarting = true;
        while (pos < source.Length)
        {
            int tag = NextTagStart(source, pos);
            if (tag < 0)
            {
                tokens.Add(new Token(TokenKind.Text, source[pos..], line));
                break;
            }
            char kind = source[tag + 1];
            char control = tag + 2 < source.Length && source[tag + 2] is '-' or '+' ? source[tag + 2] : '\0';
            string text = source[pos..tag];
            if (control == '-') text = text.TrimEnd();
            else if (control != '+' && kind != '{' && trimBlocks)
            {
                // lstrip_blocks: drop the spaces between the line's start and the tag if nothing else is there.
                int lineStart = text.LastIndexOf('\n') + 1;
                if ((lineStart > 0 || lineStarting) && lineStart < text.Length && text[lineStart..].All(char.IsWhiteSpace))
                    text = text[..lineStart];
            }
            if (text.Length > 0) tokens.Add(new Token(TokenKind.Text, text, line));
            line += Count(source, pos, tag, '\n');
            int contentStart = tag + 2 + (control == '\0' ? 0 : 1);
            int end = kind == '#'
                ? SkipComment(source, tag, contentStart, line, trimBlocks)
                : TokenizeTag(source, contentStart, kind == '{', tokens, line, trimBlocks);
            line += Count(source, tag, end, '\n');
            lineStarting = end > 0 && source[end - 1] == '\n';
            pos = end;
        }
        tokens.Add(new Token(TokenKind.EndOfTemplate, "", line));
        return tokens;
    }

    static int NextTagStart(string source, int from)
    {
        for (int i = source.IndexOf('{', from); i >= 0 && i + 1 < source.Length; i = source.IndexOf('{', i + 1))
            if (source[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    static int Count(string s, int from, int to, char c)
    {
        int n = 0;
        for (int i = from; i < to; i++) if (s[i] == c) n++;
        return n;
    }

    // Returns the position after the comment's end, with the same trimming as a block end.
    static int SkipComment(string source, int tag, int contentStart, int line, bool trimBlocks)
    {
        int close = source.IndexOf("#}", contentStart, StringComparison.Ordinal);
        if (close < 0) throw new TemplateSyntaxException("missing end of comment tag", line);
        char control = close - 1 >= contentStart ? source[close - 1] : '\0';
        return AfterEnd(source, close + 2, control, trimNewline: trimBlocks);
    }

    // What a closing delimiter consumes after itself: "-" all whitespace, "+" nothing, else (trim_blocks) one "\n".
    static int AfterEnd(string source, int pos, char control, bool trimNewline)
    {
        if (control == '-')
            while (pos < source.Length && char.IsWhiteSpace(source[pos])) pos++;
        else if (control != '+' && trimNewline && pos < source.Length && source[pos] == '\n') pos++;
        return pos;
    }

    // Tokenizes the inside of {{ }} or {% %} starting at pos; returns the position after the closing delimiter.
    static int TokenizeTag(string source, int pos, bool isVariable, List<Token> tokens, int line, bool trimBlocks)
    {
        tokens.Add(new Token(isVariable ? TokenKind.VariableBegin : TokenKind.BlockBegin, "", line));
        string close = isVariable ? "}}" : "%}";
        int depth = 0; // brackets open: "}}" inside {{ {'a': {}} }} closes a dict, not the tag
        while (true)
        {
            if (pos >= source.Length) throw new TemplateSyntaxException($"unexpected end of template, expected '{close}'", line);
            if (depth == 0)
            {
                bool dash = source[pos] is '-' or '+' && string.CompareOrdinal(source, pos + 1, close, 0, 2) == 0;
                if (dash || string.CompareOrdinal(source, pos, close, 0, 2) == 0)
                {
                    // "+}}" is not a delimiter form for variables in jinja2, but "-}}" is.
                    if (!(dash && isVariable && source[pos] == '+'))
                    {
                        tokens.Add(new Token(isVariable ? TokenKind.VariableEnd : TokenKind.BlockEnd, "", line));
                        int after = pos + (dash ? 3 : 2);
                        return AfterEnd(source, after, dash ? source[pos] : '\0', trimNewline: !isVariable && trimBlocks);
                    }
                }
            }
            char c = source[pos];
            if (char.IsWhiteSpace(c))
            {
                if (c == '\n') line++;
                pos++;
            }
            else if (char.IsAsciiDigit(c))
            {
                pos = LexNumber(source, pos, tokens, line);
            }
            else if (char.IsLetter(c) || c == '_')
            {
                int start = pos;
                while (pos < source.Length && (char.IsLetterOrDigit(source[pos]) || source[pos] == '_')) pos++;
                tokens.Add(new Token(TokenKind.Name, source[start..pos], line));
            }
            else if (c is '\'' or '"')
            {
                pos = LexString(source, pos, tokens, ref line);
            }
            else
            {
                string? op = operators.FirstOrDefault(o => string.CompareOrdinal(source, pos, o, 0, o.Length) == 0);
                if (op is null) throw new TemplateSyntaxException($"unexpected char '{c}'", line);
                if (op is "(" or "[" or "{") depth++;
                else if (op is ")" or "]" or "}")
                {
                    if (depth == 0) throw new TemplateSyntaxException($"unexpected '{op}'", line);
                    depth--;
                }
                tokens.Add(new Token(TokenKind.Operator, op, line));
                pos += op.Length;
            }
        }
    }

    // Integers and floats as jinja2 reads them (digits with optional "_" separators, a fraction, an exponent);
    // no float right after "." so that "x.0.1" stays attribute access.
    static int LexNumber(string source, int pos, List<Token> tokens, int line)
    {
        int start = pos;
        pos = Digits(source, pos);
        bool isFloat = false;
        bool afterDot = start > 0 && source[start - 1] == '.';
        if (!afterDot && pos + 1 < source.Length && source[pos] == '.' && char.IsAsciiDigit(source[pos + 1]))
        {
            pos = Digits(source, pos + 1);
            isFloat = true;
        }
        if (!afterDot && pos < source.Length && source[pos] is 'e' or 'E')
        {
            int e = pos + 1;
            if (e < source.Length && source[e] is '+' or '-') e++;
            if (e < source.Length && char.IsAsciiDigit(source[e])) { pos = Digits(source, e); isFloat = true; }
        }
        string text = source[start..pos].Replace("_", "");
        tokens.Add(isFloat
            ? new Token(TokenKind.Float, text, line)
            : new Token(TokenKind.Integer, text, line));
        return pos;
    }

    static int Digits(string source, int pos)
    {
        while (pos < source.Length && (char.IsAsciiDigit(source[pos]) || (source[pos] == '_' && pos + 1 < source.Length && char.IsAsciiDigit(source[pos + 1])))) pos++;
        return pos;
    }

    // A quoted string with Python's escapes (jinja2 decodes literals with "unicode-escape"); an unknown escape
    // keeps its backslash, as Python does.
    static int LexString(string source, int pos, List<Token> tokens, ref int line)
    {
        char quote = source[pos];
        int startLine = line;
        var sb = new StringBuilder();
        pos++;
        while (true)
        {
            if (pos >= source.Length) throw new TemplateSyntaxException("unexpected end of string", startLine);
            char c = source[pos];
            if (c == quote) break;
            if (c == '\n') line++;
            if (c != '\\' || pos + 1 >= source.Length) { sb.Append(c); pos++; continue; }
            char e = source[pos + 1];
            pos += 2;
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case 'a': sb.Append('\a'); break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case '\n': line++; break; // a backslash-newline continues the line
                case 'x': pos = AppendHex(source, pos, 2, sb, startLine); break;
                case 'u': pos = AppendHex(source, pos, 4, sb, startLine); break;
                case 'U': pos = AppendHex(source, pos, 8, sb, startLine); break;
                case >= '0' and <= '7':
                    int value = e - '0', n = 1;
                    while (n < 3 && pos < source.Length && source[pos] is >= '0' and <= '7') { value = value * 8 + source[pos++] - '0'; n++; }
                    sb.Append((char)value);
                    break;
                default: sb.Append('\\').Append(e); break;
            }
        }
        tokens.Add(new Token(TokenKind.String, sb.ToString(), startLine));
        return pos + 1;
    }

    static int AppendHex(string source, int pos, int length, StringBuilder sb, int line)
    {
        if (pos + length > source.Length || !int.TryParse(source.AsSpan(pos, length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code)
            || code > 0x10FFFF)
            throw new TemplateSyntaxException($"truncated \\{(length == 2 ? 'x' : length == 4 ? 'u' : 'U')} escape in a string", line);
        sb.Append(char.ConvertFromUtf32(code is >= 0xD800 and <= 0xDFFF ? 0xFFFD : code));
        return pos + length;
    }
}
