namespace SharpLM;

/// <summary>
/// Bad input from the user: a missing or corrupt file, a malformed line, a wrong shape, a checkpoint for another
/// model. The message is one line that names the file (or option) and the problem; the CLI prints it and exits
/// non-zero without a stack trace.
/// </summary>
public sealed class InvalidInputException : Exception
{
    /// <summary>An error with the one-line <paramref name="message"/> the user will see.</summary>
    public InvalidInputException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>"{path}: {problem}" — the form every file error takes.</summary>
    public static InvalidInputException ForFile(string path, string problem, Exception? inner = null) =>
        new($"{path}: {problem}", inner);

    /// <summary>The first line of an exception's message: parsers and libtorch append detail a one-line error cannot carry.</summary>
    public static string FirstLine(Exception e) => e.Message.Split('\n')[0].Trim();
}
