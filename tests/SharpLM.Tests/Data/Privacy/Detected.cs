using SharpLM.Data.Privacy;

namespace SharpLM.Tests.Data.Privacy;

/// <summary>What the default detector finds in a text, as (type, value) pairs in text order.</summary>
static class Detected
{
    static readonly PiiDetector Detector = new();

    public static (PiiType Type, string Value)[] In(string text) =>
        Detector.Find(text).Select(m => (m.Type, m.Value)).ToArray();

    /// <summary>Asserts that the text holds exactly one match, of the given type and value.</summary>
    public static void Single(string text, PiiType type, string value) =>
        Assert.Equal([(type, value)], In(text));

    /// <summary>Asserts that nothing in the text is PII.</summary>
    public static void Nothing(string text) => Assert.Empty(In(text));
}
