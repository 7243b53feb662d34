"""Reference for SharpLM's Calculator: exact values of arithmetic expressions with Python's own parser (ast) and
fractions.Fraction. Reads {"expressions": [...]} on stdin; prints {"values": [[numerator, denominator] | null]} (null:
division by zero). Decimal literals become exact fractions (Fraction("0.1") == 1/10), as in the C#."""
import ast, json, sys
from fractions import Fraction

def value(node):
    if isinstance(node, ast.Expression):
        return value(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return Fraction(ast.get_source_segment(source, node))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = value(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = value(node.left), value(node.right)
        if isinstance(node.op, ast.Add): return a + b
        if isinstance(node.op, ast.Sub): return a - b
        if isinstance(node.op, ast.Mult): return a * b
        if isinstance(node.op, ast.Div): return a / b
        if isinstance(node.op, ast.Pow):
            assert b.denominator == 1
            return a ** int(b)
    raise ValueError(f"unsupported: {ast.dump(node)}")

out = []
for source in json.load(sys.stdin)["expressions"]:
    try:
        v = value(ast.parse(source, mode="eval"))
        out.append([str(v.numerator), str(v.denominator)])
    except ZeroDivisionError:
        out.append(None)
print(json.dumps({"values": out}))
