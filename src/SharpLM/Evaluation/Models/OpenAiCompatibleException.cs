namespace SharpLM.Evaluation.Models;

/// <summary>
/// An OpenAI-compatible server failed a request: an HTTP error (after retries where retrying makes sense) or a
/// response that does not have the expected shape. The message is one line naming the URL and the problem.
/// </summary>
public sealed class OpenAiCompatibleException(string message, int? statusCode = null, string? responseBody = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The HTTP status of a failed request; null for a malformed successful response.</summary>
    public int? StatusCode { get; } = statusCode;

    /// <summary>The raw body of a failed request, for callers that look for a server's reason.</summary>
    public string? ResponseBody { get; } = responseBody;
}
