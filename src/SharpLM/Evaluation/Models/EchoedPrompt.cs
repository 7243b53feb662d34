using System.Text;
using SharpLM.Evaluation.Harness;

namespace SharpLM.Evaluation.Models;

/// <summary>
/// Reads the log-probability of a continuation out of a <c>/completions</c> response to <c>echo: true,
/// logprobs: 1</c>, which scores every prompt token given the tokens before it (as lm-evaluation-harness's
/// local-completions model does). The server tokenizes, so the continuation is found by character offsets:
/// OpenAI's <c>text_offset</c> counts Unicode code points (Python string indices), and so do the lengths here.
/// </summary>
internal static class EchoedPrompt
{
    /// <summary>
    /// Sums the log-probabilities of the echoed tokens that overlap the continuation, the characters from
    /// <paramref name="contextLength"/> to <paramref name="promptLength"/> (tokens at or past the prompt's end were
    /// generated, when the server needed max_tokens 1). A token that straddles the boundary counts as continuation:
    /// it is typically the context's trailing space merged with the continuation's first word, which
    /// lm-evaluation-harness also moves into the continuation. The first token of the prompt has no log-probability
    /// (nothing precedes it) and counts only as context. That is expected when scoring a whole text
    /// (<paramref name="rolling"/>); for a continuation it would leave nothing scored, which is an error.
    /// </summary>
    public static LoglikelihoodResult Score(CompletionLogprobs? logprobs, int contextLength, int promptLength, bool rolling, Uri url)
    {
        if (logprobs is null)
            throw new ModelCapabilityException($"{url}: the server returned no logprobs for an echoed prompt, so it cannot score text " +
                "(it needs /completions with echo and logprobs, as vLLM and OpenAI's completion models have; llama.cpp's and Ollama's servers do not)");
        var tokens = logprobs.Tokens ?? throw Missing(url, "tokens");
        var values = logprobs.TokenLogprobs ?? throw Missing(url, "token_logprobs");
        var offsets = logprobs.TextOffset ?? throw Missing(url, "text_offset");
        var tops = logprobs.TopLogprobs ?? throw Missing(url, "top_logprobs");
        foreach (var (name, count) in new[] { ("token_logprobs", values.Count), ("text_offset", offsets.Count), ("top_logprobs", tops.Count) })
            if (count != tokens.Count)
                throw OpenAiTransport.Malformed(url, $"logprobs.{name} has {count} entries for {tokens.Count} tokens");
        if (promptLength > 0 && (tokens.Count == 0 || offsets[0] != 0))
            throw new ModelCapabilityException($"{url}: the server did not echo the prompt's tokens (echo: true was ignored), so it cannot score text");
        for (int i = 1; i < offsets.Count; i++)
            if (offsets[i] < offsets[i - 1])
                throw OpenAiTransport.Malformed(url, $"logprobs.text_offset decreases at token {i} ({offsets[i - 1]} then {offsets[i]})");

        double sum = 0;
        bool greedy = true;
        int counted = 0;
        for (int i = 0; i < tokens.Count && offsets[i] < promptLength; i++)
        {
            int end = i + 1 < tokens.Count ? offsets[i + 1] : int.MaxValue;
            if (end <= contextLength) continue;
            if (values[i] is not double value)
            {
                if (i == 0) continue;
                throw OpenAiTransport.Malformed(url, $"logprobs.token_logprobs[{i}] is null for a token after the first");
            }
            if (tops[i] is not { Count: > 0 } top)
                throw OpenAiTransport.Malformed(url, $"logprobs.top_logprobs[{i}] is empty: cannot tell whether token {i} is the greedy choice");
            sum += value;
            counted++;
            // As lm-evaluation-harness: greedy when no alternative is more likely than the token itself.
            if (value < top.Values.Max()) greedy = false;
        }
        if (counted == 0 && promptLength > contextLength && !rolling)
            throw new ModelCapabilityException($"{url}: the continuation lies inside the prompt's first token, which the server does not score; give a (longer) context");
        return new LoglikelihoodResult(sum, greedy, counted);
    }

    /// <summary>Length in Unicode code points, the unit of OpenAI's text_offset.</summary>
    public static int CodePoints(string text)
    {
        int n = 0;
        foreach (Rune _ in text.EnumerateRunes()) n++;
        return n;
    }

    static OpenAiCompatibleException Missing(Uri url, string field) => OpenAiTransport.Malformed(url, $"logprobs has no '{field}' array");
}
