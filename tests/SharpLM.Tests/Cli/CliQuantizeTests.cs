using System.Text.Json;
using SharpLM.Adaptation;
using SharpLM.Modeling;
using static TorchSharp.torch;

namespace SharpLM.Tests.Cli;

public class CliQuantizeTests
{
    [Fact]
    public void Quantize_writes_a_run_that_loads_and_samples_as_the_model_quantised_in_memory_and_reports_the_comparison()
    {
        using var dir = new TempDirectory();
        CliProcess.PretrainTiny(dir, 60);

        var quantize = CliProcess.Run("quantize", "--checkpoint", dir.File("run"), "--scheme", "int4", "--group-size", "32", "--out", dir.File("q4"), "--seconds", "0.2", "--threads", "1");
        Assert.True(quantize.ExitCode == 0, quantize.Stderr);
        Assert.Contains("| float32 |", quantize.Stdout);
        Assert.Contains("| int4 (group 32) |", quantize.Stdout);
        // The JSON on stdout and quantize.json: float32 first, then the quantised model, smaller and nearly as good.
        string json = quantize.Stdout.Split('\n').Single(l => l.StartsWith('{'));
        Assert.Equal(System.Text.Json.Nodes.JsonNode.Parse(json)!.ToJsonString(), System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(dir.File("q4/quantize.json")))!.ToJsonString());
        var rows = JsonDocument.Parse(json).RootElement.GetProperty("rows");
        Assert.Equal("float32", rows[0].GetProperty("weights").GetString());
        double floatPpl = rows[0].GetProperty("perplexity").GetDouble(), int4Ppl = rows[1].GetProperty("perplexity").GetDouble();
        Assert.InRange(int4Ppl / floatPpl, 0.9, 1.1);
        // Half a byte per weight and 8 bytes of scale and offset per 32: 0.75 of float32's 4 bytes (the widths, 32 and 128, need no padding).
        Assert.Equal(0.75 / 4, (double)rows[1].GetProperty("linear_weight_bytes").GetInt64() / rows[0].GetProperty("linear_weight_bytes").GetInt64());
        Assert.True(rows[1].GetProperty("decode_tokens_per_second").GetDouble() > 0);

        // Loaded back, it computes exactly what quantising the float run in memory computes.
        var inMemory = ModelBundle.Load(dir.File("run"));
        Quantization.Quantize(inMemory.Decoder("test"), new QuantizationSpec("int4", 32));
        var loaded = ModelBundle.Load(dir.File("q4"));
        var ids = tensor(inMemory.Tokenizer.Encode("the quick brown fox jumps over").Select(i => (long)i).ToArray()).unsqueeze(0);
        using (no_grad())
            Assert.Equal(inMemory.Model.forward(ids).data<float>().ToArray(), loaded.Model.forward(ids).data<float>().ToArray());
        string[] greedy = ["--prompt", "the ", "--max-new-tokens", "12", "--temperature", "0"];
        var fromFile = CliProcess.Run(["sample", "--checkpoint", dir.File("q4"), .. greedy]);
        var onTheFly = CliProcess.Run(["sample", "--checkpoint", dir.File("run"), "--quantize", "int4:32", .. greedy]);
        Assert.True(fromFile.ExitCode == 0, fromFile.Stderr);
        Assert.Equal(onTheFly.Stdout, fromFile.Stdout);

        // Refusals: an unknown scheme, an occupied destination, a run quantised twice, a truncated weight file.
        var unknown = CliProcess.Run("quantize", "--checkpoint", dir.File("run"), "--scheme", "int3", "--out", dir.File("q3"));
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("--scheme 'int3': expected one of int8, int4", unknown.Stderr);
        var occupied = CliProcess.Run("quantize", "--checkpoint", dir.File("run"), "--scheme", "int8", "--out", dir.File("q4"));
        Assert.NotEqual(0, occupied.ExitCode);
        Assert.Contains("already holds a checkpoint", occupied.Stderr);
        var twice = CliProcess.Run(["sample", "--checkpoint", dir.File("q4"), "--quantize", "int8", .. greedy]);
        Assert.NotEqual(0, twice.ExitCode);
        Assert.Contains("already quantised", twice.Stderr);
        string weights = Directory.GetFiles(dir.File("q4"), "model-*.safetensors").Single();
        using (var f = File.OpenWrite(weights)) f.SetLength(f.Length - 8);
        var truncated = CliProcess.Run(["sample", "--checkpoint", dir.File("q4"), .. greedy]);
        Assert.NotEqual(0, truncated.ExitCode);
        Assert.Matches($"{System.Text.RegularExpressions.Regex.Escape(weights)}: tensor '[^']+': data_offsets end", truncated.Stderr);
        Assert.Single(truncated.Stderr.Trim().Split('\n'));
    }
}
