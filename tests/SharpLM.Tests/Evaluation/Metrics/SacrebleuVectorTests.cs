using System.Globalization;
using System.Text.Json.Nodes;
using SharpLM.Evaluation.Metrics;

namespace SharpLM.Tests.Evaluation.Metrics;

/// <summary>
/// sacrebleu's own test expectations (shared/data/metric-vectors/sacrebleu, from mjpost/sacrebleu's test/ folder):
/// every case of every file is one theory row, compared with the tolerance its group declares (README there).
/// </summary>
public class SacrebleuVectorTests
{
    const string BleuFile = "bleu_vectors.json";
    const string SentenceBleuFile = "sentence_bleu_vectors.json";
    const string ChrfFile = "chrf_vectors.json";
    const string TerFile = "ter_vectors.json";

    public static TheoryData<string, int> BleuCases => CasesOf(BleuFile);
    public static TheoryData<string, int> SentenceBleuCases => CasesOf(SentenceBleuFile);
    public static TheoryData<string, int> ChrfCases => CasesOf(ChrfFile);
    public static TheoryData<string, int> TerCases => CasesOf(TerFile);

    [Theory]
    [InlineData(BleuFile, 27)]
    [InlineData(SentenceBleuFile, 18)]
    [InlineData(ChrfFile, 25)]
    [InlineData(TerFile, 7)]
    public void Every_case_of_the_file_is_a_theory_row(string file, int cases) => Assert.Equal(cases, CasesOf(file).Count);

    [Theory]
    [MemberData(nameof(BleuCases))]
    public void Corpus_bleu_matches_sacrebleu(string group, int index)
    {
        var (g, c) = Case(BleuFile, group, index);
        switch (group)
        {
            case "raw_corpus_bleu" or "effective_order":
                AssertClose(g, c["expected"], RawBleu(c, 0.01) / 100);
                break;
            case "corpus_bleu":
                var kwargs = c["kwargs"]!.AsObject();
                var options = new BleuOptions
                {
                    Tokenizer = kwargs["tokenize"] is { } tok ? BleuTokenizer.FromName((string)tok!) : BleuTokenizer.Mteval13a,
                    Smoothing = kwargs["smooth_method"] is { } smooth ? Smoothing((string)smooth!) : BleuSmoothing.Exp,
                };
                AssertClose(g, c["expected"], Bleu.Corpus(Strings(c["hypotheses"]), Streams(c["reference_streams"]), options).Score);
                break;
            case "statistics":
                var score = Bleu.Corpus(Strings(c["hypotheses"]), Streams(c["reference_streams"]), BleuOptions.Raw(0.01));
                Assert.Equal(Ints(c["expected_counts"]), score.Counts);
                Assert.Equal(Ints(c["expected_totals"]), score.Totals);
                break;
            case "scoring_from_statistics":
                AssertClose(g, c["expected"], Bleu.FromStatistics(
                    Ints(c["common"]), Ints(c["total"]), (int)c["sys_len"]!, (int)c["ref_len"]!).Score / 100);
                break;
            case "offset":
                AssertClose(g, c["expected_without_offset"], RawBleu(c, 0.0) / 100);
                AssertClose(g, c["expected_with_offset"], RawBleu(c, null) / 100);
                AssertClose(g, c["expected_with_offset"], Bleu.Corpus(
                    Strings(c["hypotheses"]), Streams(c["reference_streams"]), BleuOptions.Raw()).Score / 100);
                break;
            case "degenerate_statistics": // sacrebleu asserts exact equality here
                Assert.Equal((double)c["expected"]!, Bleu.FromStatistics(Ints(c["common"]), Ints(c["total"]),
                    (int)c["sys_len"]!, (int)c["ref_len"]!, BleuSmoothing.Floor, (double)c["offset"]!).Score / 100);
                break;
            case "max_ngram_order": // sacrebleu compares f"{score:.2f}"
                var ordered = Bleu.Corpus(Strings(c["hypotheses"]), Streams(c["reference_streams"]),
                    new BleuOptions { MaxNgramOrder = (int)c["order"]! });
                Assert.Equal((string)c["expected"]!, ordered.Score.ToString("F2", CultureInfo.InvariantCulture));
                break;
            default:
                Assert.Fail($"no check written for group '{group}'");
                break;
        }
    }

    [Theory]
    [MemberData(nameof(SentenceBleuCases))]
    public void Sentence_bleu_matches_sacrebleu(string group, int index)
    {
        var (g, c) = Case(SentenceBleuFile, group, index);
        var options = new BleuOptions
        {
            Tokenizer = BleuTokenizer.FromName((string)c["tokenize"]!),
            Smoothing = Smoothing((string)c["smooth_method"]!),
            SmoothValue = c["smooth_value"] is { } value ? (double)value : null,
            Lowercase = (bool)c["lowercase"]!,
            EffectiveOrder = true,
        };
        var score = Bleu.Sentence((string)g["hypothesis"]!, Strings(g["references"]), options);
        AssertClose(g, c["expected"], score.Score);
    }

    [Theory]
    [MemberData(nameof(ChrfCases))]
    public void Chrf_matches_sacrebleu(string group, int index)
    {
        var (g, c) = Case(ChrfFile, group, index);
        if (group == "chrf_sentence_level")
        {
            var sentence = Chrf.Sentence((string)c["hypothesis"]!, Strings(c["references"]), new ChrfOptions { EpsSmoothing = true });
            AssertClose(g, c["expected"], sentence.Score);
            return;
        }
        var options = group switch
        {
            "chrf_eps_smoothing" => new ChrfOptions { Beta = 3, EpsSmoothing = true },
            "chrf_effective_order" => new ChrfOptions { Beta = 3 },
            "chrf_keep_whitespace" => new ChrfOptions { Beta = 3, Whitespace = true },
            _ => throw new InvalidOperationException($"no check written for group '{group}'"),
        };
        var score = Chrf.Corpus(Strings(c["hypotheses"]), [Strings(c["references"])], options);
        AssertClose(g, c["expected"], score.Score);
    }

    [Theory]
    [MemberData(nameof(TerCases))]
    public void Ter_matches_sacrebleu(string group, int index)
    {
        var (g, c) = Case(TerFile, group, index);
        var score = Ter.Corpus(Strings(c["hypotheses"]), [Strings(c["references"])]);
        AssertClose(g, c["expected_score"], score.Score);
    }

    [Fact]
    public void Signatures_have_sacrebleus_fields_in_sacrebleus_order()
    {
        string[] hyps = ["The dog bit the man.", "It wasn't surprising."];
        IReadOnlyList<string?>[] refs = [["The dog bit the man.", "It was not unexpected."], ["The dog had bit the man.", null]];
        Assert.Equal("nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0", Bleu.Corpus(hyps, refs).Signature);
        Assert.Equal("nrefs:1|case:lc|eff:yes|tok:intl|smooth:floor[0.10]|version:2.6.0", Bleu.Sentence(hyps[0], [hyps[0]],
            new BleuOptions { Lowercase = true, Tokenizer = BleuTokenizer.International, Smoothing = BleuSmoothing.Floor, EffectiveOrder = true }).Signature);
        Assert.Equal("nrefs:2|case:mixed|eff:yes|tok:13a|smooth:add-k[2.00]|version:2.6.0", Bleu.Sentence(hyps[0], [hyps[0], hyps[1]],
            BleuOptions.SentenceDefault with { Smoothing = BleuSmoothing.AddK, SmoothValue = 2 }).Signature);
        Assert.Equal("nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0", Chrf.Sentence(hyps[0], [hyps[1]], ChrfOptions.ChrfPlusPlus).Signature);
        Assert.Equal("chrF2++", Chrf.Sentence(hyps[0], [hyps[1]], ChrfOptions.ChrfPlusPlus).Name);
        Assert.Equal("nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0", Ter.Sentence(hyps[0], [hyps[1]]).Signature);
    }

    [Fact]
    public void Bleu_renders_like_sacrebleu()
    {
        // sacrebleu's README example
        string[] hyps = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."];
        string[][] refs = [["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
            ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."]];
        Assert.Equal("BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)",
            Bleu.Corpus(hyps, refs).ToString());
    }

    // Paths the vector files do not reach, with the output of sacrebleu 2.x's own tokenizer code (CPython 3.11, regex).
    [Theory]
    [InlineData("intl", "Hi😀! a𐄀b 1,000.5 \"quoted\" x€y", "Hi 😀 ! a 𐄀 b 1,000.5 \" quoted \" x € y")] // astral symbol and punctuation
    [InlineData("13a", "&quot;Hi&quot; 1,000.5 e.g. 2-3 don't.", "\" Hi \" 1,000.5 e . g . 2 - 3 don't .")]
    [InlineData("char", "a😀 b", "a 😀   b")]
    [InlineData("zh", "中文abc，2-3 “hi” — x", "中 文 abc ， 2 - 3 “ hi ” — x")] // “ ” — fall in zh's mistyped '\u20000' range
    public void Tokenizers_match_sacrebleu(string name, string input, string expected) =>
        Assert.Equal(expected, BleuTokenizer.FromName(name).Tokenize(input));

    [Fact]
    public void Lowercasing_and_tercom_normalization_match_python()
    {
        // Python lowers a word-final capital sigma to ς and İ to i + U+0307; ToLowerInvariant would not
        Assert.Equal(100, Bleu.Sentence("ΟΔΟΣ ΣΑΣ. İSTANBUL", ["οδος σας. i\u0307stanbul"], BleuOptions.SentenceDefault with { Lowercase = true }).Score, 9);
        Assert.Equal(0, Ter.Sentence("ΟΔΟΣ ΣΑΣ", ["οδος σας"]).Score);

        string s = "He said &quot;It's 3.5-4 (maybe)!&quot; 漢字テスト。";
        Assert.Equal("he said \" it 's 3.5 - 4 ( maybe ) ! \" 漢字テスト。", TercomTokenizer.Tokenize(s, new TerOptions { Normalized = true }));
        Assert.Equal("he said it 's 35 - 4 maybe 漢 字 テスト",
            TercomTokenizer.Tokenize(s, new TerOptions { Normalized = true, NoPunctuation = true, AsianSupport = true }));
        Assert.Equal("He said &quotIt's 35-4 maybe&quot 漢字テスト。",
            TercomTokenizer.Tokenize(s, new TerOptions { NoPunctuation = true, CaseSensitive = true }));
    }

    static double RawBleu(JsonObject c, double? smoothValue) =>
        Bleu.Corpus(Strings(c["hypotheses"]), Streams(c["reference_streams"]), BleuOptions.Raw(smoothValue)).Score;

    static BleuSmoothing Smoothing(string name) => name switch
    {
        "none" => BleuSmoothing.None,
        "floor" => BleuSmoothing.Floor,
        "add-k" => BleuSmoothing.AddK,
        "exp" => BleuSmoothing.Exp,
        _ => throw new ArgumentException($"unknown smoothing '{name}'"),
    };

    static void AssertClose(JsonObject group, JsonNode? expected, double actual)
    {
        double tolerance = (double)group["abs_tolerance"]!;
        double want = (double)expected!;
        Assert.True(Math.Abs(actual - want) < tolerance, $"expected {want} ± {tolerance}, got {actual:R}");
    }

    static readonly Dictionary<string, JsonArray> Groups = [];

    static JsonArray GroupsOf(string file)
    {
        lock (Groups)
        {
            if (!Groups.TryGetValue(file, out var groups))
            {
                string path = TestData.Fixture($"metric-vectors/sacrebleu/{file}");
                Groups[file] = groups = JsonNode.Parse(File.ReadAllText(path))!["groups"]!.AsArray();
            }
            return groups;
        }
    }

    static TheoryData<string, int> CasesOf(string file)
    {
        var data = new TheoryData<string, int>();
        foreach (var group in GroupsOf(file))
            for (int i = 0; i < group!["cases"]!.AsArray().Count; i++) data.Add((string)group["name"]!, i);
        return data;
    }

    static (JsonObject Group, JsonObject Case) Case(string file, string group, int index)
    {
        var g = GroupsOf(file).Single(x => (string)x!["name"]! == group)!.AsObject();
        return (g, g["cases"]![index]!.AsObject());
    }

    static string[] Strings(JsonNode? node) => [.. node!.AsArray().Select(x => (string)x!)];
    static string[][] Streams(JsonNode? node) => [.. node!.AsArray().Select(Strings)];
    static int[] Ints(JsonNode? node) => [.. node!.AsArray().Select(x => (int)x!)];
}
