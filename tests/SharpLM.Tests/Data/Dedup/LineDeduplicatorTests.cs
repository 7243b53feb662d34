using System.Text;
using SharpLM.Data;
using SharpLM.Data.Dedup;

namespace SharpLM.Tests.Data.Dedup;

public class LineDeduplicatorTests
{
    const string Cookie = "We use cookies to improve your experience. By continuing you accept our cookie policy.";

    static LineDedupResult Apply(LineDeduplicator dedup, string id, string text) => dedup.Apply(new Document(id, text), dedup.Hashes(text));

    [Fact]
    public void Boilerplate_shared_across_documents_is_kept_in_the_first_and_removed_from_later_ones()
    {
        var dedup = new LineDeduplicator();
        string first = $"Local bakery wins award\n{Cookie}\nThe bakery on Main Street won the regional prize.";
        var a = Apply(dedup, "a", first);
        var b = Apply(dedup, "b", $"{Cookie}\nCity council meets on Tuesday\nThe agenda includes the new bus lane.");
        var c = Apply(dedup, "c", $"Weather: sunny all week\n{Cookie}");

        Assert.Equal(first, a.Kept!.Text);
        Assert.Equal(0, a.UnitsRemoved);
        Assert.Equal("City council meets on Tuesday\nThe agenda includes the new bus lane.", b.Kept!.Text);
        Assert.Equal("Weather: sunny all week", c.Kept!.Text);
        Assert.Equal("b", b.Kept.Id);
        foreach (var r in new[] { b, c })
        {
            Assert.Equal(1, r.UnitsRemoved);
            Assert.Equal(Encoding.UTF8.GetByteCount(Cookie) + 1, r.BytesRemoved); // the line and its line break
        }
        Assert.Equal(6, dedup.SeenCount);
    }

    [Fact]
    public void Normalisation_ignores_case_digits_punctuation_spacing_accents_and_full_width_forms()
    {
        Assert.Equal("hello world 0000", LineDeduplicator.Normalize("Hello, World 2023!"));
        Assert.Equal("hello world 0000", LineDeduplicator.Normalize("  hello \t world 1999 "));
        Assert.Equal("cafe creme", LineDeduplicator.Normalize("Café Crème"));
        Assert.Equal("hello world", LineDeduplicator.Normalize("ＨＥＬＬＯ\u3000ｗｏｒｌｄ"));

        var dedup = new LineDeduplicator();
        Assert.NotNull(Apply(dedup, "a", "Hello, World 2023!").Kept);
        Assert.Equal(LineDeduplicator.RejectReason, Apply(dedup, "b", "hello world 1999").Reason);
    }

    [Fact]
    public void Paragraph_mode_removes_whole_repeated_paragraphs_only()
    {
        var dedup = new LineDeduplicator(new LineDedupOptions { Unit = LineDedupUnit.Paragraph });
        Apply(dedup, "a", "Intro line one.\nIntro line two.\n\nShared footer line one\nShared footer line two");
        var b = Apply(dedup, "b", "Other intro.\n\nShared footer line one\nShared footer line two\n\nShared footer line one\nA different ending");

        // The third paragraph shares a line with the footer but is not the same paragraph, so it stays whole.
        Assert.Equal("Other intro.\n\nShared footer line one\nA different ending", b.Kept!.Text);
        Assert.Equal((3, 1), (b.Units, b.UnitsRemoved));
        Assert.Equal(4, dedup.SeenCount);
    }

    [Fact]
    public void Remaining_units_keep_their_order_text_and_separators()
    {
        var dedup = new LineDeduplicator();
        Apply(dedup, "menu", "Menu\nHome\n");
        string text = "Menu\r\nFirst real line\r\nHome\r\n\r\nSecond paragraph\r\n  indented line  \r\n";
        var r = Apply(dedup, "page", text);

        // "Home" ended the first paragraph: the blank line after it still separates what is left.
        Assert.Equal("First real line\r\n\r\nSecond paragraph\r\n  indented line  \r\n", r.Kept!.Text);
        Assert.Equal((5, 2), (r.Units, r.UnitsRemoved));
    }

    [Fact]
    public void Repeats_inside_one_document_keep_the_first()
    {
        var r = Apply(new LineDeduplicator(), "a", "Share this\nThe actual text.\nShare this!");
        Assert.Equal("Share this\nThe actual text.", r.Kept!.Text);
    }

    [Fact]
    public void A_document_of_only_seen_units_is_rejected()
    {
        var dedup = new LineDeduplicator();
        Apply(dedup, "a", "Alpha line\nBeta line");
        var r = Apply(dedup, "b", "Beta line\n\nAlpha line\n");

        Assert.Null(r.Kept);
        Assert.Equal("line_duplicates", r.Reason);
        Assert.Equal(2, r.UnitsRemoved);
        Assert.Equal(Encoding.UTF8.GetByteCount("Beta line\n\nAlpha line\n"), r.BytesRemoved);
    }

    [Fact]
    public void A_rejected_document_does_not_claim_its_new_units()
    {
        var dedup = new LineDeduplicator(new LineDedupOptions { MinRemainingChars = 20 });
        Apply(dedup, "a", Cookie);
        var rejected = Apply(dedup, "b", $"{Cookie}\nShort new line");
        var later = Apply(dedup, "c", "Short new line\nand a longer line of its own");

        Assert.Equal(LineDeduplicator.RejectReason, rejected.Reason);
        Assert.Equal("Short new line\nand a longer line of its own", later.Kept!.Text);
        Assert.Equal(3, dedup.SeenCount);
    }

    [Fact]
    public void Units_too_short_after_normalisation_are_never_removed()
    {
        var dedup = new LineDeduplicator(new LineDedupOptions { MinUnitChars = 5 });
        Apply(dedup, "a", "Home\n-----\nFirst article text");
        var r = Apply(dedup, "b", "Home\n-----\nFirst article text\nSecond article text");
        Assert.Equal("Home\n-----\nSecond article text", r.Kept!.Text);

        // The default de-duplicates short lines too, but a punctuation-only line normalises to nothing and stays.
        var defaults = new LineDeduplicator();
        Apply(defaults, "a", "Home\n* * *\nFirst article text");
        Assert.Equal("* * *\nSecond article text", Apply(defaults, "b", "Home\n* * *\nSecond article text").Kept!.Text);
    }

    [Fact]
    public void Chinese_lines_keep_their_characters_and_lose_their_punctuation()
    {
        Assert.Equal("欢迎访问我们的网站请先登录", LineDeduplicator.Normalize("欢迎访问我们的网站，请先登录。"));
        Assert.Equal("第0章 总则", LineDeduplicator.Normalize("第１章　总则"));
        Assert.NotEqual(LineDeduplicator.Normalize("かがみ"), LineDeduplicator.Normalize("かかみ")); // voicing marks are not accents

        var dedup = new LineDeduplicator();
        Apply(dedup, "a", "欢迎访问我们的网站，请先登录。\n今天北京天气晴朗。");
        var b = Apply(dedup, "b", "欢迎访问我们的网站,请先登录\n上海明天有雨。");
        Assert.Equal("上海明天有雨。", b.Kept!.Text);
        Assert.Equal(3, dedup.SeenCount);
    }

    [Fact]
    public void Hashes_are_pure_and_give_the_same_result_on_many_threads()
    {
        var dedup = new LineDeduplicator();
        var random = new Random(7);
        // Digits all normalise to 0, so pool lines differ by letters.
        string[] pool = Enumerable.Range(0, 300).Select(i => (i % 3) switch
        {
            0 => $"Line {(char)('a' + i % 26)}{(char)('a' + i / 26)} with plain ASCII text 42.",
            1 => $"Ünïcödé zeile {(char)('a' + i % 26)}{(char)('a' + i / 26)}, mit Akzenten — «und» Satzzeichen…",
            _ => $"中文第{(char)(0x4E00 + i)}行，包含标点。" + new string('长', i), // long lines grow the pooled buffer
        }).ToArray();
        string[] texts = Enumerable.Range(0, 2000)
            .Select(_ => string.Join(random.Next(4) == 0 ? "\n\n" : "\n", Enumerable.Range(0, random.Next(1, 12)).Select(_ => pool[random.Next(pool.Length)])))
            .ToArray();

        var sequential = texts.Select(dedup.Hashes).ToArray();
        var parallel = new LineHashes[texts.Length];
        Parallel.For(0, texts.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => parallel[i] = dedup.Hashes(texts[i]));
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(sequential[i].Units, parallel[i].Units);
            Assert.Equal(sequential[i].Units, dedup.Hashes(texts[i]).Units);
        }

        var first = new LineDeduplicator();
        var second = new LineDeduplicator();
        for (int i = 0; i < texts.Length; i++)
        {
            var doc = new Document($"d{i}", texts[i]);
            Assert.Equal(first.Apply(doc, sequential[i]), second.Apply(doc, parallel[i]));
        }
        Assert.Equal(pool.Length, first.SeenCount);
    }

    [Fact]
    public void Hashes_of_another_text_are_refused()
    {
        var dedup = new LineDeduplicator();
        Assert.Throws<ArgumentException>(() => dedup.Apply(new Document("a", "redacted <EMAIL>"), dedup.Hashes("mail me at a@b.c")));
    }
}
