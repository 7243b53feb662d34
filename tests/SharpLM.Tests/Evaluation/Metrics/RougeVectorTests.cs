using System.Text.Json;
using SharpLM.Evaluation.Metrics;

namespace SharpLM.Tests.Evaluation.Metrics;

/// <summary>
/// Every value asserted by rouge_score's own tests (rouge_scorer_test.py, scoring_test.py), transcribed into
/// shared/data/metric-vectors/rouge, at the precision those tests use: Python's assertAlmostEqual, 7 places unless
/// the case says otherwise, 5 places against ROUGE-1.5.5's file outputs, delta 1e-8 for the aggregator.
/// </summary>
public class RougeVectorTests
{
    private static string VectorFile => TestData.Fixture("metric-vectors/rouge/rouge_vectors.json");

    private static readonly Lazy<JsonElement> Vectors =
        new(() => JsonDocument.Parse(File.ReadAllText(VectorFile)).RootElement);

    private static IEnumerable<JsonElement> Section(string name) => Vectors.Value.GetProperty(name).EnumerateArray();

    private static TheoryData<string> CaseNames(string section) => new(Section(section).Select(c => Text(c, "test")));

    private static JsonElement Case(string section, string test) =>
        Section(section).Single(c => Text(c, "test") == test);

    private static string Text(JsonElement e, string property) => e.GetProperty(property).GetString()!;

    public static TheoryData<string> StringCases() => CaseNames("string_cases");

    [Theory]
    [MemberData(nameof(StringCases))]
    public void String_inputs_score_as_rouge_score(string test)
    {
        JsonElement c = Case("string_cases", test);
        string[] types = c.GetProperty("types").EnumerateArray().Select(t => t.GetString()!).ToArray();
        var scores = new RougeScorer(types).Score(Text(c, "target"), Text(c, "prediction"));
        bool looseF = c.TryGetProperty("tolerance", out var tolerance)
            && tolerance.GetString()!.StartsWith("fmeasure to 3 places");
        int fPlaces = looseF ? 3 : 7;
        foreach (string type in types)
        {
            JsonElement expected = c.TryGetProperty("expected_each_type", out var each)
                ? each
                : c.GetProperty("expected").GetProperty(type);
            AssertScore(expected, scores[type], places: 7, fmeasurePlaces: fPlaces, type);
        }
    }

    public static TheoryData<string, bool> TypeNames()
    {
        var names = Vectors.Value.GetProperty("rouge_type_names");
        var data = new TheoryData<string, bool>();
        foreach (var n in names.GetProperty("invalid_raise_ValueError").EnumerateArray())
            data.Add(n.GetString()!, false);
        foreach (var n in names.GetProperty("valid").EnumerateArray()) data.Add(n.GetString()!, true);
        return data;
    }

    [Theory]
    [MemberData(nameof(TypeNames))]
    public void Rouge_type_names_are_validated(string type, bool valid)
    {
        if (valid) Assert.Equal(new[] { type }, new RougeScorer([type]).Score("one two", "one").Keys);
        else Assert.Throws<ArgumentException>(() => new RougeScorer([type]));
    }

    public static TheoryData<string> LcsCases() => CaseNames("lcs_helper_cases");

    [Theory]
    [MemberData(nameof(LcsCases))]
    public void Lcs_helpers_match_rouge_score(string test)
    {
        JsonElement c = Case("lcs_helper_cases", test);
        if (c.TryGetProperty("lcs_length", out var length))
        {
            int[] reference = Ints(c.GetProperty("ref")), candidate = Ints(c.GetProperty("candidate"));
            int[,] table = RougeLcs.Table(reference, candidate);
            Assert.Equal(length.GetInt32(), table[reference.Length, candidate.Length]);
            List<int> indices = RougeLcs.Indices(reference, candidate);
            Assert.Equal(Ints(c.GetProperty("lcs_ref_indices")), indices);
            if (c.TryGetProperty("lcs_values", out var values))
                Assert.Equal(Ints(values), indices.Select(i => reference[i]));
        }
        else if (c.TryGetProperty("union_lcs_values", out var union))
        {
            int[] reference = Ints(c.GetProperty("ref"));
            Assert.Equal(Ints(union), RougeLcs.UnionLcs(reference, IntLists(c.GetProperty("candidates"))));
            var findUnion = c.GetProperty("find_union_of_index_lists");
            Assert.Equal(Ints(findUnion.GetProperty("expected")),
                RougeLcs.FindUnion(IntLists(findUnion.GetProperty("inputs"))));
        }
        else
        {
            var score = RougeLcs.SummaryLevel(IntLists(c.GetProperty("refs")), IntLists(c.GetProperty("candidates")));
            AssertScore(c.GetProperty("expected"), score, places: 7, fmeasurePlaces: 3, test);
            // The case's "also": _summary_level_lcs([["reference"]], [[]]).recall == 0.0
            Assert.Equal(0.0, RougeLcs.SummaryLevel<string>([["reference"]], [[]]).Recall);
        }
    }

    /// <summary>One row per (case, stemmer setting, line): line -1 means the files are read whole.</summary>
    public static TheoryData<string, bool, int> FileCases()
    {
        var data = new TheoryData<string, bool, int>();
        foreach (var c in Section("file_cases"))
        {
            string test = Text(c, "test");
            var stemmer = c.GetProperty("use_stemmer");
            bool[] settings = stemmer.ValueKind == JsonValueKind.Array
                ? stemmer.EnumerateArray().Select(s => s.GetBoolean()).ToArray()
                : [stemmer.GetBoolean()];
            var expected = c.GetProperty("expected");
            int[] lines = expected.ValueKind == JsonValueKind.Array
                ? expected.EnumerateArray().Select(e => e.GetProperty("line").GetInt32()).ToArray()
                : [-1];
            foreach (bool useStemmer in settings)
                foreach (int line in lines)
                    data.Add(test, useStemmer, line);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(FileCases))]
    public void File_inputs_match_rouge_155_to_five_places(string test, bool useStemmer, int line)
    {
        JsonElement c = Case("file_cases", test);
        string dir = Path.GetDirectoryName(VectorFile)!;
        string[] files = c.GetProperty("files").EnumerateArray()
            .Select(f => Path.Combine(dir, f.GetString()!)).ToArray();
        JsonElement expected = line < 0
            ? c.GetProperty("expected")
            : c.GetProperty("expected").EnumerateArray().Single(e => e.GetProperty("line").GetInt32() == line);
        string type = expected.EnumerateObject().Single(p => p.Name.StartsWith("rouge")).Name;
        // rouge_score's tests read these with readlines() (line i keeps its '\n') or, for the whole-file case, read().
        string target = line < 0 ? File.ReadAllText(files[0]) : ReadLinesKeepingNewlines(files[0])[line];
        string prediction = line < 0 ? File.ReadAllText(files[1]) : ReadLinesKeepingNewlines(files[1])[line];
        var score = new RougeScorer([type], useStemmer).Score(target, prediction)[type];
        AssertScore(expected.GetProperty(type), score, places: 5, fmeasurePlaces: 5, type);
    }

    public static TheoryData<string> BootstrapCases() => CaseNames("bootstrap_aggregator_cases");

    [Theory]
    [MemberData(nameof(BootstrapCases))]
    public void Bootstrap_aggregator_gives_rouge_score_intervals(string test)
    {
        JsonElement c = Case("bootstrap_aggregator_cases", test);
        // "same three scores" refers back to the first case's list.
        JsonElement scores = c.GetProperty("scores_rouge1").ValueKind == JsonValueKind.Array
            ? c.GetProperty("scores_rouge1")
            : Section("bootstrap_aggregator_cases").First().GetProperty("scores_rouge1");
        var aggregator = new BootstrapAggregator(confidenceInterval: c.GetProperty("confidence_interval").GetDouble());
        foreach (var s in scores.EnumerateArray())
            aggregator.AddScores(new Dictionary<string, RougeScore> { ["rouge1"] = Score(s) });
        AggregateScore result = aggregator.Aggregate()["rouge1"];
        double delta = c.GetProperty("delta").GetDouble();
        var expected = c.GetProperty("expected_low_mid_high");
        RougeScore[] bounds = [result.Low, result.Mid, result.High];
        for (int b = 0; b < 3; b++)
        {
            Assert.InRange(bounds[b].Precision - expected.GetProperty("precision")[b].GetDouble(), -delta, delta);
            Assert.InRange(bounds[b].Recall - expected.GetProperty("recall")[b].GetDouble(), -delta, delta);
            Assert.InRange(bounds[b].FMeasure - expected.GetProperty("fmeasure")[b].GetDouble(), -delta, delta);
        }
    }

    private static void AssertScore(JsonElement expected, RougeScore actual, int places, int fmeasurePlaces,
        string what)
    {
        var e = Score(expected);
        AssertAlmostEqual(e.Precision, actual.Precision, places, $"{what} precision");
        AssertAlmostEqual(e.Recall, actual.Recall, places, $"{what} recall");
        AssertAlmostEqual(e.FMeasure, actual.FMeasure, fmeasurePlaces, $"{what} fmeasure");
    }

    /// <summary>Python's <c>assertAlmostEqual(expected, actual, places)</c>: round(|difference|, places) ==
    /// 0.</summary>
    private static void AssertAlmostEqual(double expected, double actual, int places, string what) =>
        Assert.True(Math.Round(Math.Abs(expected - actual), places) == 0,
            $"{what}: expected {expected}, got {actual} (to {places} places)");

    private static RougeScore Score(JsonElement s) => new(s.GetProperty("precision").GetDouble(),
        s.GetProperty("recall").GetDouble(), s.GetProperty("fmeasure").GetDouble());

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    private static List<IReadOnlyList<int>> IntLists(JsonElement array) =>
        array.EnumerateArray().Select(a => (IReadOnlyList<int>)Ints(a)).ToList();

    private static List<string> ReadLinesKeepingNewlines(string path)
    {
        string text = File.ReadAllText(path);
        var lines = new List<string>();
        for (int start = 0; start < text.Length;)
        {
            int end = text.IndexOf('\n', start);
            end = end < 0 ? text.Length : end + 1;
            lines.Add(text[start..end]);
            start = end;
        }
        return lines;
    }
}
