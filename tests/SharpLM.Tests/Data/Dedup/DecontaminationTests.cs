using System.Text.Json;
using SharpLM.Data.Dedup;

namespace SharpLM.Tests.Data.Dedup;

public class DecontaminationTests
{
    static Decontaminator WithBenchmarks()
    {
        var d = new Decontaminator();
        d.AddEvaluationFile(TestData.Path("gsm8k/test.jsonl"), "gsm8k");
        d.AddEvaluationFile(TestData.Path("arc/arc_easy.jsonl"), "arc_easy");
        return d;
    }

    [DataFact("tinyshakespeare", "gsm8k", "arc-easy")]
    public void Injected_gsm8k_and_arc_items_are_all_caught_and_clean_text_is_not()
    {
        var decon = WithBenchmarks();
        string shakespeare = File.ReadAllText(TestData.Path("tinyshakespeare/input.txt"));
        var passages = Enumerable.Range(0, 200).Select(i => shakespeare.Substring(i * 5000, 1500)).ToList();

        var gsm = File.ReadLines(TestData.Path("gsm8k/test.jsonl")).Take(40)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("question").GetString()!).ToList();
        // An ARC item as a page would quote it: the question followed by its options.
        var arc = File.ReadLines(TestData.Path("arc/arc_easy.jsonl")).Take(40).Select(l =>
        {
            var r = JsonDocument.Parse(l).RootElement;
            return r.GetProperty("query").GetString() + "\n" + string.Join("\n", r.GetProperty("choices").EnumerateArray().Select(c => c.GetString()));
        }).ToList();

        // Clean documents stay clean.
        Assert.All(passages, p => Assert.Null(decon.Check(p)));
        // Each item, embedded in the middle of a clean passage and re-punctuated/re-cased, is caught with its source.
        for (int i = 0; i < gsm.Count; i++)
        {
            var hit = decon.Check(passages[i][..700] + " " + gsm[i].ToUpperInvariant() + " " + passages[i][700..]);
            Assert.Equal("gsm8k", hit?.Benchmark);
        }
        int caughtWithoutPrefix = 0;
        for (int i = 0; i < arc.Count; i++)
        {
            var hit = decon.Check(passages[100 + i][..700] + "\n" + arc[i] + "\n" + passages[100 + i][700..]);
            Assert.Equal("arc_easy", hit?.Benchmark);
            // The question alone, without its "Question:" prefix, is still caught whenever one of the indexed n-grams
            // fits inside it: a 13-gram, or, for questions shorter than 13 tokens, an 8-gram.
            string question = arc[i].Split('\n')[0], bare = question.Replace("Question: ", "");
            int whole = Shingles.Tokens(question).Count, left = Shingles.Tokens(bare).Count;
            if (left >= Decontaminator.N || (whole < Decontaminator.N && left >= Decontaminator.MinimumTokens))
            {
                Assert.Equal("arc_easy", decon.Check(passages[100 + i][..700] + " " + bare + " " + passages[100 + i][700..])?.Benchmark);
                caughtWithoutPrefix++;
            }
        }
        Assert.True(caughtWithoutPrefix >= 10, $"only {caughtWithoutPrefix} bare ARC questions were long enough to test");
    }

    [DataFact("gsm8k", "arc-easy")]
    public void Short_answer_options_do_not_flag_ordinary_text()
    {
        var decon = WithBenchmarks();
        Assert.Null(decon.Check("Wear safety goggles and breathing masks when you work with chemicals in the lab."));
    }

    [Fact]
    public void Malformed_evaluation_file_is_named()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("bad.jsonl"), "{\"q\": \"ok\"}\n{broken\n");
        var e = Assert.Throws<InvalidInputException>(() => new Decontaminator().AddEvaluationFile(dir.File("bad.jsonl"), "x"));
        Assert.Contains("bad.jsonl", e.Message);
    }

    [DataFact("gsm8k", "arc-easy")]
    public void Benchmarks_are_named_by_file_by_folder_for_splits_or_explicitly()
    {
        string question = System.Text.Json.JsonDocument.Parse(File.ReadLines(TestData.Path("gsm8k/test.jsonl")).First()).RootElement.GetProperty("question").GetString()!;
        var byFolder = new Decontaminator();
        byFolder.AddEvaluationFile(TestData.Path("gsm8k/test.jsonl"));
        Assert.Equal("gsm8k", byFolder.Check(question)?.Benchmark);
        var byName = new Decontaminator();
        byName.AddEvaluationFile("grade-school-math=" + TestData.Path("gsm8k/test.jsonl"));
        Assert.Equal("grade-school-math", byName.Check(question)?.Benchmark);
        var byFile = new Decontaminator();
        byFile.AddEvaluationFile(TestData.Path("arc/arc_easy.jsonl"));
        Assert.Equal("arc_easy", byFile.Check(File.ReadLines(TestData.Path("arc/arc_easy.jsonl")).First())?.Benchmark);
    }

    [DataFact("gsm8k")]
    public void A_data_set_name_adds_its_fetched_files_under_that_name()
    {
        string question = System.Text.Json.JsonDocument.Parse(File.ReadLines(TestData.Path("gsm8k/test.jsonl")).Last()).RootElement.GetProperty("question").GetString()!;
        var d = new Decontaminator();
        d.AddEvaluationFile("gsm8k");
        Assert.Equal("gsm8k", d.Check("Some text. " + question + " More text.")?.Benchmark);
    }

    [Fact]
    public void Exact_duplicates_match_after_normalisation_only()
    {
        var exact = new ExactDeduplicator();
        Assert.Null(exact.Add("deseret", "\U00010400 word")); // an astral-plane capital letter folds like any other
        Assert.Equal("deseret", exact.Add("deseret-lower", "\U00010428 WORD"));
        Assert.Null(exact.Add("a", "Hello   World\n"));
        Assert.Equal("a", exact.Add("b", " hello world"));
        Assert.Equal("a", exact.Add("c", "ＨＥＬＬＯ world")); // NFKC folds full-width letters
        Assert.Null(exact.Add("d", "hello, world"));
    }
}
