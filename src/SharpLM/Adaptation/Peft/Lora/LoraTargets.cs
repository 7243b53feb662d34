using System.Text.RegularExpressions;
using SharpLM.Modeling;
using TorchSharp.Modules;

namespace SharpLM.Adaptation.Peft.Lora;

/// <summary>
/// Which Linear layers LoRA adapts, chosen by patterns over module paths. Targets are every Linear layer of a
/// <see cref="Gpt"/> ("h.0.attn.c_attn", "h.0.attn.c_proj", "h.0.mlp.c_fc", "h.0.mlp.c_gate", "h.0.mlp.c_proj",
/// "lm_head") plus, per attention, the q, k and v row ranges of the fused c_attn ("h.0.attn.q", "h.0.attn.k",
/// "h.0.attn.v"). A pattern matches a path when it
/// <list type="bullet">
/// <item>is the path or a dotted suffix of it ("c_attn", "attn.c_proj", "q", "h.0.mlp.c_fc") — Hugging Face PEFT's rule;</item>
/// <item>contains * or ? and matches the whole path as a glob, * spanning dots ("*.mlp.*", "h.[01]" is not a glob);</item>
/// <item>starts with "re:" and the rest matches the whole path as a regular expression ("re:h\.[0-3]\.attn\.(q|v)").</item>
/// </list>
/// The survey's "q, k, v, o, MLP" is "q", "k", "v", "attn.c_proj", "*.mlp.*"; "attn.c_attn" is one adapter over all
/// of q, k and v. Every pattern must match something, and a fused c_attn and its q/k/v cannot both be chosen.
/// </summary>
public static class LoraTargets
{
    /// <summary>A chosen layer: its path, the Linear, and the output rows covered (all rows for a whole layer).</summary>
    public sealed record Target(string Path, Linear Layer, long RowOffset, long Rows, string ChildName);

    /// <summary>Every path LoRA could adapt in <paramref name="model"/>, with its layer and rows.</summary>
    public static IReadOnlyList<Target> Candidates(Gpt model)
    {
        var result = new List<Target>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is Linear linear)
                result.Add(new Target(name, linear, 0, linear.weight!.shape[0], "lora"));
            else if (module is CausalSelfAttention attention)
                foreach (char part in "qkv")
                {
                    var (offset, rows) = attention.Rows(part);
                    result.Add(new Target($"{name}.{part}", attention.QkvProjection, offset, rows, $"lora_{part}"));
                }
        }
        return result;
    }

    /// <summary>Whether <paramref name="pattern"/> chooses the module path <paramref name="path"/>, by the rules
    /// above.</summary>
    /// <exception cref="ArgumentException">A "re:" pattern is not a valid regular expression.</exception>
    public static bool Matches(string pattern, string path)
    {
        if (pattern.StartsWith("re:", StringComparison.Ordinal))
            return Regex.IsMatch(path, $"^(?:{pattern[3..]})$", RegexOptions.CultureInvariant);
        if (pattern.IndexOfAny(new[] { '*', '?' }) >= 0)
            return Regex.IsMatch(path, "^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.CultureInvariant);
        return path == pattern || path.EndsWith("." + pattern, StringComparison.Ordinal);
    }

    /// <summary>The targets <paramref name="patterns"/> choose, in model order.</summary>
    public static IReadOnlyList<Target> Select(Gpt model, IReadOnlyList<string> patterns, string source = "lora options")
    {
        var candidates = Candidates(model);
        foreach (string pattern in patterns)
        {
            try
            {
                if (!candidates.Any(c => Matches(pattern, c.Path)))
                    throw new InvalidInputException($"{source}: target_modules pattern '{pattern}' matches no layer (layers: {string.Join(", ", candidates.Where(c => c.Path.StartsWith("h.0.", StringComparison.Ordinal) || !c.Path.StartsWith("h.", StringComparison.Ordinal)).Select(c => c.Path))}, …)");
            }
            catch (ArgumentException e)
            {
                throw new InvalidInputException($"{source}: target_modules pattern '{pattern}' is not a valid regular expression: {InvalidInputException.FirstLine(e)}", e);
            }
        }
        var chosen = candidates.Where(c => patterns.Any(p => Matches(p, c.Path))).ToList();
        foreach (var whole in chosen.Where(c => c.ChildName == "lora"))
        {
            var part = chosen.FirstOrDefault(c => c.ChildName != "lora" && ReferenceEquals(c.Layer, whole.Layer));
            if (part is not null)
                throw new InvalidInputException($"{source}: target_modules choose both {whole.Path} and its part {part.Path}; adapt the fused projection or its q/k/v, not both");
        }
        return chosen;
    }
}
