using System.Globalization;
using System.Numerics;
using System.Text;

namespace SharpLM.Utilization.Tools;

/// <summary>Why <see cref="Calculator.Evaluate"/> refused an expression, and where (0-based character offset).</summary>
public sealed class CalculatorException(string message, int position) : Exception(message)
{
    /// <summary>The character offset the problem was found at.</summary>
    public int Position { get; } = position;
}

/// <summary>
/// The calculator a model may call (Toolformer's and nanochat's tool): arithmetic on decimal numbers with + − × ÷,
/// powers and parentheses, and nothing else — it parses the expression itself and never hands text to an interpreter,
/// so a model's output cannot run code through it. Arithmetic is exact (rationals over <see cref="BigInteger"/>), so
/// 0.1 + 0.2 is 0.3 and a long sum has no rounding error; only the final answer is rounded, when it does not terminate
/// within <see cref="MaxFractionDigits"/> places. Limits on length, nesting, literal size and powers keep a hostile
/// expression from costing more than a few microseconds or kilobytes.
/// <code>
/// expression := term (("+" | "-" | "−") term)*
/// term       := unary (("*" | "×" | "/" | "÷") unary)*
/// unary      := ("-" | "−" | "+") unary | power
/// power      := primary (("^" | "**") unary)?        right-associative; -2^2 = -4, 2^-1 = 0.5
/// primary    := number | "(" expression ")"
/// number     := digits ["." digits] | "." digits     (thousands separators "," and "_" between digits are ignored)
/// </code>
/// </summary>
public static class Calculator
{
    /// <summary>The longest expression accepted, in characters.</summary>
    public const int MaxLength = 512;
    /// <summary>The deepest nesting of parentheses and unary signs.</summary>
    public const int MaxDepth = 64;
    /// <summary>The most digits in one number.</summary>
    public const int MaxLiteralDigits = 100;
    /// <summary>The largest |exponent| of a power.</summary>
    public const int MaxExponent = 10_000;
    /// <summary>The most bits a numerator or denominator may reach.</summary>
    public const int MaxBits = 8_192;
    /// <summary>Decimal places of an answer that does not terminate sooner (rounded half to even).</summary>
    public const int MaxFractionDigits = 12;

    /// <summary>The value of <paramref name="expression"/>, formatted: an integer, a terminating decimal, or a decimal rounded to <see cref="MaxFractionDigits"/> places.</summary>
    /// <exception cref="CalculatorException">A syntax error, a division by zero, or an expression past the limits.</exception>
    public static string Evaluate(string expression) => Format(EvaluateExact(expression));

    /// <summary>The exact value of <paramref name="expression"/> as a reduced fraction (denominator positive).</summary>
    /// <exception cref="CalculatorException">As <see cref="Evaluate"/>.</exception>
    public static (BigInteger Numerator, BigInteger Denominator) EvaluateExact(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        if (expression.Length > MaxLength) throw new CalculatorException($"expression longer than {MaxLength} characters", MaxLength);
        var parser = new Parser(expression);
        var value = parser.ParseAll();
        return (value.Num, value.Den);
    }

    /// <summary>Formats an exact value as <see cref="Evaluate"/> does.</summary>
    public static string Format((BigInteger Numerator, BigInteger Denominator) value)
    {
        var (num, den) = value;
        if (den.IsOne) return num.ToString(CultureInfo.InvariantCulture);
        // Scale to MaxFractionDigits places, rounding half to even; then drop trailing zeros.
        BigInteger scale = BigInteger.Pow(10, MaxFractionDigits);
        BigInteger scaled = BigInteger.DivRem(BigInteger.Abs(num) * scale, den, out BigInteger rest);
        int twice = (rest * 2).CompareTo(den);
        if (twice > 0 || (twice == 0 && !scaled.IsEven)) scaled += 1;
        string digits = scaled.ToString(CultureInfo.InvariantCulture).PadLeft(MaxFractionDigits + 1, '0');
        string whole = digits[..^MaxFractionDigits], fraction = digits[^MaxFractionDigits..].TrimEnd('0');
        string sign = num.Sign < 0 && (whole != "0" || fraction.Length > 0) ? "-" : "";
        return fraction.Length == 0 ? sign + whole : $"{sign}{whole}.{fraction}";
    }

    readonly record struct Rational(BigInteger Num, BigInteger Den)
    {
        public static Rational Of(BigInteger num, BigInteger den, int at)
        {
            if (den.IsZero) throw new CalculatorException("division by zero", at);
            if (den.Sign < 0) { num = -num; den = -den; }
            BigInteger g = BigInteger.GreatestCommonDivisor(num, den);
            if (!g.IsOne && !g.IsZero) { num /= g; den /= g; }
            if (num.GetBitLength() > MaxBits || den.GetBitLength() > MaxBits)
                throw new CalculatorException($"a value with more than {MaxBits} bits", at);
            return new Rational(num, den);
        }
    }

    sealed class Parser(string text)
    {
        int pos;
        int depth;

        public Rational ParseAll()
        {
            SkipSpace();
            if (pos == text.Length) throw new CalculatorException("empty expression", 0);
            var value = Expression();
            SkipSpace();
            if (pos < text.Length) throw Unexpected();
            return value;
        }

        Rational Expression()
        {
            var value = Term();
            while (true)
            {
                SkipSpace();
                int at = pos;
                int sign;
                if (Accept('+')) sign = 1;
                else if (Accept('-') || Accept('−')) sign = -1;
                else return value;
                var r = Term();
                value = Rational.Of(value.Num * r.Den + sign * r.Num * value.Den, value.Den * r.Den, at);
            }
        }

        Rational Term()
        {
            var value = Unary();
            while (true)
            {
                SkipSpace();
                int at = pos;
                if (Accept('*') || Accept('×')) { var r = Unary(); value = Rational.Of(value.Num * r.Num, value.Den * r.Den, at); }
                else if (Accept('/') || Accept('÷')) { var r = Unary(); value = Rational.Of(value.Num * r.Den, value.Den * r.Num, at); }
                else return value;
            }
        }

        Rational Unary()
        {
            SkipSpace();
            if (Accept('-') || Accept('−')) return Nested(() => { var v = Unary(); return new Rational(-v.Num, v.Den); });
            if (Accept('+')) return Nested(Unary);
            return Power();
        }

        Rational Power()
        {
            var value = Primary();
            SkipSpace();
            int at = pos;
            if (!(Accept("**") || Accept('^'))) return value;
            var exponent = Nested(Unary);
            if (!exponent.Den.IsOne) throw new CalculatorException("exponent must be an integer", at);
            if (BigInteger.Abs(exponent.Num) > MaxExponent) throw new CalculatorException($"exponent beyond -{MaxExponent}..{MaxExponent}", at);
            int e = (int)exponent.Num;
            // Bound the result before computing it: x^e has at most e·(bits(x) − 1) + 1 bits (1^e and 0^e stay small).
            long bits = (Math.Max(value.Num.GetBitLength(), value.Den.GetBitLength()) - 1) * (long)Math.Abs(e);
            if (bits > MaxBits + 64) throw new CalculatorException($"a value with more than {MaxBits} bits", at);
            if (e >= 0) return Rational.Of(BigInteger.Pow(value.Num, e), BigInteger.Pow(value.Den, e), at);
            return Rational.Of(BigInteger.Pow(value.Den, -e), BigInteger.Pow(value.Num, -e), at);
        }

        Rational Primary()
        {
            SkipSpace();
            int at = pos;
            if (Accept('('))
            {
                var value = Nested(Expression);
                SkipSpace();
                if (!Accept(')')) throw pos < text.Length ? Unexpected() : new CalculatorException($"missing ')' for the '(' at {at}", pos);
                return value;
            }
            if (pos < text.Length && (char.IsAsciiDigit(text[pos]) || text[pos] == '.')) return Number();
            throw pos < text.Length ? Unexpected() : new CalculatorException("expression ends where a number was expected", pos);
        }

        Rational Number()
        {
            int start = pos;
            var digits = new StringBuilder();
            int fractionDigits = -1;
            while (pos < text.Length)
            {
                char c = text[pos];
                if (char.IsAsciiDigit(c)) { digits.Append(c); if (fractionDigits >= 0) fractionDigits++; }
                else if (c == '.' && fractionDigits < 0) fractionDigits = 0;
                else if ((c == ',' || c == '_') && fractionDigits < 0 && digits.Length > 0 && pos + 1 < text.Length && char.IsAsciiDigit(text[pos + 1])) { }
                else break;
                pos++;
            }
            if (digits.Length == 0 || fractionDigits == 0) throw new CalculatorException($"malformed number '{text[start..pos]}'", start);
            if (digits.Length > MaxLiteralDigits) throw new CalculatorException($"a number with more than {MaxLiteralDigits} digits", start);
            var num = BigInteger.Parse(digits.ToString(), CultureInfo.InvariantCulture);
            return Rational.Of(num, BigInteger.Pow(10, Math.Max(fractionDigits, 0)), start);
        }

        T Nested<T>(Func<T> parse)
        {
            if (++depth > MaxDepth) throw new CalculatorException($"nested deeper than {MaxDepth}", pos);
            try { return parse(); }
            finally { depth--; }
        }

        void SkipSpace()
        {
            while (pos < text.Length && char.IsWhiteSpace(text[pos])) pos++;
        }

        bool Accept(char c)
        {
            if (pos < text.Length && text[pos] == c && !(c == '*' && Peek("**"))) { pos++; return true; }
            return false;
        }

        bool Accept(string s)
        {
            if (!Peek(s)) return false;
            pos += s.Length;
            return true;
        }

        bool Peek(string s) => string.CompareOrdinal(text, pos, s, 0, s.Length) == 0;

        CalculatorException Unexpected() => new($"unexpected '{text[pos]}' at {pos}", pos);
    }
}
