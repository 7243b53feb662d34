namespace SharpLM.IO;

/// <summary>
/// Checks on the files a config names and the sizes it declares, before anything is allocated: checkpoint and
/// adapter configs come from strangers, and a few bytes of JSON can name /etc/passwd or demand terabytes.
/// </summary>
internal static class DeclaredSizes
{
    /// <summary>
    /// The fewest bytes a stored parameter takes: fp32 is 4, and half of that leaves room for fp16/bf16 weights, so
    /// only configs that cannot be what the file holds are refused.
    /// </summary>
    public const double MinBytesPerParameter = 2;

    /// <summary>Refuses anything but a bare file name (no directory, no "..", not rooted) in <paramref name="field"/>.</summary>
    public static void RequireBareName(string configPath, string field, string? name)
    {
        if (string.IsNullOrEmpty(name) || name is "." or ".." || name.IndexOfAny(['/', '\\', '\0']) >= 0 || Path.IsPathRooted(name))
            throw InvalidInputException.ForFile(configPath, $"{field}: '{name}' must be a bare file name in the same directory");
    }

    /// <summary>
    /// Refuses a config whose <paramref name="field"/> declares at least <paramref name="parameters"/> parameters
    /// when <paramref name="weightPath"/> is too small to hold them.
    /// </summary>
    /// <remarks>Quantised weights pass their own <paramref name="bytesPerParameter"/> (half a byte for int4).</remarks>
    public static void RequireRoom(string configPath, string field, double parameters, string weightPath, double bytesPerParameter = MinBytesPerParameter) =>
        RequireRoom(configPath, field, parameters, new FileInfo(weightPath).Length, Path.GetFileName(weightPath), bytesPerParameter);

    /// <summary>As above, for weights of <paramref name="length"/> bytes in total, described as <paramref name="weights"/>.</summary>
    public static void RequireRoom(string configPath, string field, double parameters, long length, string weights, double bytesPerParameter = MinBytesPerParameter)
    {
        if (parameters * bytesPerParameter > length)
            throw InvalidInputException.ForFile(configPath,
                $"{field}: declares at least {parameters:N0} parameters, more than {weights} ({length:N0} bytes) can hold");
    }
}
