using System.Globalization;
using SharpLM.Modeling.NGram;

namespace SharpLM.Tests.Modeling.NGram;

public class ArpaFormatTests
{
    static KneserNeyModel Model(KneserNeyVariant variant, NGramTokenization tokenization, int order, int minCount, SentencePadding padding)
    {
        var counts = NGramCounts.FromLines(NGramTestCorpus.Training, order, tokenization, minCount, padding);
        return variant == KneserNeyVariant.Modified ? KneserNeyModel.Modified(counts) : KneserNeyModel.Plain(counts, 0.75);
    }

    [Theory]
    [InlineData(KneserNeyVariant.Modified, NGramTokenization.Words, 3, 1, SentencePadding.KenLm)]
    [InlineData(KneserNeyVariant.Modified, NGramTokenization.Words, 4, 2, SentencePadding.KenLm)]
    [InlineData(KneserNeyVariant.Modified, NGramTokenization.Characters, 5, 1, SentencePadding.KenLm)]
    [InlineData(KneserNeyVariant.Modified, NGramTokenization.Characters, 3, 1, SentencePadding.Nltk)]
    [InlineData(KneserNeyVariant.Plain, NGramTokenization.Words, 3, 2, SentencePadding.Nltk)]
    [InlineData(KneserNeyVariant.Plain, NGramTokenization.Characters, 4, 1, SentencePadding.KenLm)]
    [InlineData(KneserNeyVariant.Modified, NGramTokenization.Words, 1, 1, SentencePadding.KenLm)]
    public void The_backoff_model_read_from_arpa_gives_the_interpolated_probabilities(
        KneserNeyVariant variant, NGramTokenization tokenization, int order, int minCount, SentencePadding padding)
    {
        var model = Model(variant, tokenization, order, minCount, padding);
        using var dir = new TempDirectory();
        ArpaFormat.Write(model, dir.File("model.arpa"));
        var loaded = ArpaFormat.Read(dir.File("model.arpa"), tokenization, padding);

        Assert.Equal(model.Order, loaded.Order);
        Assert.Equal(model.Vocabulary.Tokens.Order(StringComparer.Ordinal), loaded.Vocabulary.Tokens.Order(StringComparer.Ordinal));
        int compared = 0;
        foreach (string[] context in NGramTestCorpus.Contexts(model.Counts))
            foreach (string word in model.Vocabulary.Tokens.Append("never-seen"))
            {
                double expected = model.Probability(context, word), actual = loaded.Probability(context, word);
                Assert.True(Math.Abs(expected - actual) <= 1e-6 * expected,
                    $"P({word} | {string.Join(' ', context)}): model {expected:R}, ARPA {actual:R}");
                compared++;
            }
        Assert.True(compared > 100);
        string heldOut = string.Join('\n', NGramTestCorpus.HeldOut);
        Assert.Equal(model.Evaluate(heldOut).LogLikelihood, loaded.Evaluate(heldOut).LogLikelihood, 1e-5);
    }

    [Fact]
    public void The_header_counts_match_the_sections()
    {
        var model = Model(KneserNeyVariant.Modified, NGramTokenization.Words, 3, 1, SentencePadding.KenLm);
        var text = new StringWriter();
        ArpaFormat.Write(model, text);
        string[] lines = text.ToString().Split('\n');

        int data = Array.IndexOf(lines, @"\data\");
        var declared = lines.Skip(data + 1).TakeWhile(l => l.StartsWith("ngram ")).Select(l => int.Parse(l.Split('=')[1])).ToArray();
        Assert.Equal(3, declared.Length);
        Assert.Equal(model.Vocabulary.Count, declared[0]);
        for (int k = 1; k <= 3; k++)
        {
            int header = Array.IndexOf(lines, $@"\{k}-grams:");
            var section = lines.Skip(header + 1).TakeWhile(l => l.Length > 0).ToArray();
            Assert.Equal(declared[k - 1], section.Length);
            Assert.Equal(model.Counts.Types(k) + (k == 1 ? model.Vocabulary.Count - model.Counts.Types(1) : 0), section.Length);
            foreach (string line in section)
            {
                string[] fields = line.Split('\t');
                Assert.Equal(k < 3 ? 3 : 2, fields.Length); // backoff on every order but the highest
                Assert.Equal(k, fields[1].Split(' ').Length);
                Assert.True(double.Parse(fields[0], CultureInfo.InvariantCulture) <= 0);
            }
        }
        Assert.Equal(@"\end\", lines.Last(l => l.Length > 0));
        // KenLM's spelling of the start marker: it is never predicted.
        Assert.Contains(lines, l => l.StartsWith("-99\t<s>\t", StringComparison.Ordinal));
    }

    [Fact]
    public void Character_models_write_spaces_as_the_meta_symbol()
    {
        var model = Model(KneserNeyVariant.Modified, NGramTokenization.Characters, 2, 1, SentencePadding.KenLm);
        var text = new StringWriter();
        ArpaFormat.Write(model, text);
        Assert.Contains($"\tt {NGramTokenizer.Space}\n", text.ToString()); // the bigram "t" then space, as in "cat sat"
    }

    [Fact]
    public void A_header_that_disagrees_with_its_section_is_rejected()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("bad.arpa"), "\\data\\\nngram 1=3\n\n\\1-grams:\n-1\t<unk>\n-0.5\t</s>\n\n\\end\\\n");
        var error = Assert.Throws<InvalidInputException>(() => ArpaFormat.Read(dir.File("bad.arpa")));
        Assert.Contains("declares 3 1-grams, the section has 2", error.Message);
    }
}
