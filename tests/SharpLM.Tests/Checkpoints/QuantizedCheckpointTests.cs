using SharpLM.Adaptation;
using SharpLM.Checkpoints;
using SharpLM.Modeling;
using SharpLM.Training;
using static TorchSharp.torch;

namespace SharpLM.Tests.Checkpoints;

public class QuantizedCheckpointTests
{
    /// <summary>A tiny model trained on the test corpus (a trained model's weights have the structure quantisation meets in practice; random ones do not).</summary>
    static string TrainedRun(TempDirectory dir)
    {
        string data = TinyRuns.PrepareData(dir.Path);
        string run = dir.File("run");
        new Trainer(TinyRuns.Config(maxIters: 150, evalInterval: 150), data, run).Run(false);
        return run;
    }

    static Tensor Windows(ModelBundle bundle)
    {
        int[] ids = bundle.Tokenizer.Encode(string.Concat(Enumerable.Repeat(TinyRuns.Corpus, 4)));
        int block = bundle.Model.Config.BlockSize;
        return tensor(Enumerable.Range(0, 8).SelectMany(w => ids.Skip(w * 5).Take(block)).Select(i => (long)i).ToArray()).reshape(8, block);
    }

    static Tensor Logits(LanguageModel model, Tensor ids)
    {
        using var _ = no_grad();
        return model.forward(ids);
    }

    /// <remarks>
    /// Measured on this model: int8 moves the next-token distribution by a mean KL of 2.5e-6 nats and no probability
    /// by more than 0.003; int4 at group 16 by 3.1e-4 nats and 0.019 (its step, a group's range / 15, is roughly ten
    /// times int8's, a row's absmax / 127, and KL grows with the square of the logit error). The bounds sit 3–40×
    /// above those figures, so seeds and libtorch versions do not flip them, while a layer computed through the wrong
    /// scales or codes moves logits by whole units. Top-1 agreement is what a reader of greedy output sees.
    /// </remarks>
    [Theory]
    [InlineData("int8", 1e-4, 0.01)]
    [InlineData("int4:16", 5e-3, 0.08)]
    public void A_quantised_trained_model_predicts_nearly_what_the_float_model_does(string scheme, double maxKl, double maxProbabilityChange)
    {
        using var dir = new TempDirectory();
        string run = TrainedRun(dir);
        var reference = ModelBundle.Load(run);
        var quantised = ModelBundle.Load(run);
        Quantization.Quantize(quantised.Decoder("test"), QuantizationSpec.Parse(scheme, "test")!);
        var ids = Windows(reference);
        var p = Logits(reference.Model, ids).log_softmax(-1);
        var q = Logits(quantised.Model, ids).log_softmax(-1);
        double kl = (p.exp() * (p - q)).sum(-1).mean().item<float>();
        double probabilityChange = (p.exp() - q.exp()).abs().max().item<float>();
        double agreement = p.argmax(-1).eq(q.argmax(-1)).to(ScalarType.Float32).mean().item<float>();
        Console.WriteLine($"{scheme}: KL {kl:E3} nats, largest probability change {probabilityChange:F4}, top-1 agreement {agreement:P1}");
        Assert.True(kl > 0, "quantisation changed nothing: the quantised path was not taken");
        Assert.True(kl < maxKl, $"{scheme}: mean KL(float ‖ quantised) {kl} nats per token");
        Assert.True(probabilityChange < maxProbabilityChange, $"{scheme}: a next-token probability moved by {probabilityChange}");
        Assert.True(agreement >= 0.95, $"{scheme}: top-1 agreement {agreement:P1}");
    }

    static (string Run, string Quantised, Tensor Expected, Tensor Ids) SavedQuantised(TempDirectory dir, string scheme)
    {
        string run = TrainedRun(dir);
        var bundle = ModelBundle.Load(run);
        Quantization.Quantize(bundle.Decoder("test"), QuantizationSpec.Parse(scheme, "test")!);
        var ids = Windows(bundle);
        string quantised = dir.File("quantised");
        bundle.Save(new ModelLocation(ModelFormat.SharpLM, quantised));
        return (run, quantised, Logits(bundle.Model, ids), ids);
    }

    [Theory]
    [InlineData("int8")]
    [InlineData("int4:8")]
    [InlineData("int4:12")] // 32 and 128 columns are not multiples of 12: padded groups are stored and dropped again
    public void A_saved_quantised_model_loads_back_to_the_same_logits_without_quantising_again(string scheme)
    {
        using var dir = new TempDirectory();
        var (_, quantised, expected, ids) = SavedQuantised(dir, scheme);
        var manifest = Checkpoint.ReadManifest(quantised);
        Assert.Equal(QuantizationSpec.Parse(scheme, "test"), manifest.Quantization);
        Assert.EndsWith(".safetensors", manifest.ModelFile);
        using (var file = SafetensorsFile.Open(Path.Combine(quantised, manifest.ModelFile)))
            Assert.Equal(manifest.Quantization!.Scheme, file.Metadata["sharplm.quantization"]);
        var loaded = ModelBundle.Load(quantised);
        Assert.Equal(manifest.Quantization, Quantization.Of(loaded.Model));
        // No float weight was built and quantised again: every Linear layer holds only its placeholder.
        Assert.All(loaded.Model.modules().OfType<TorchSharp.Modules.Linear>(), l => Assert.Equal(0, l.weight!.numel()));
        Assert.Equal(expected.data<float>().ToArray(), Logits(loaded.Model, ids).data<float>().ToArray());
        // Training needs the float weights: a quantised run is refused by name, and so is an adapter over one.
        var resume = Assert.Throws<InvalidInputException>(() => Checkpoint.LoadWeights(quantised, manifest, LanguageModel.Create(manifest.Model), null));
        Assert.Contains("for inference only", resume.Message);
        Assert.Throws<InvalidInputException>(() => loaded.Save(new ModelLocation(ModelFormat.HuggingFace, dir.File("hf"))));
    }

    /// <summary>Rewrites the weight file with <paramref name="change"/> applied to its tensors (null drops one) and re-signs it in checkpoint.json, as a forger (or a buggy writer) would.</summary>
    static void Rewrite(string dir, Func<string, Tensor, Tensor?> change)
    {
        var manifest = Checkpoint.ReadManifest(dir);
        string path = Path.Combine(dir, manifest.ModelFile);
        Dictionary<string, string> metadata;
        List<(string, Tensor)> tensors;
        using (var file = SafetensorsFile.Open(path))
        {
            metadata = file.Metadata.ToDictionary();
            tensors = file.Entries.Select(e => (e.Name, change(e.Name, file.Read(e.Name)))).Where(t => t.Item2 is not null).Select(t => (t.Name, t.Item2!)).ToList();
        }
        SafetensorsWriter.Write(path, tensors, metadata);
        using var s = File.OpenRead(path);
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(s));
        SharpLM.IO.AtomicFile.WriteAllText(Path.Combine(dir, Checkpoint.ManifestFile), System.Text.Json.JsonSerializer.Serialize(manifest with { ModelSha256 = sha }, SharpLM.Runtime.Json.Options));
    }

    [Fact]
    public void A_corrupt_quantised_file_is_refused_naming_the_file_and_the_tensor()
    {
        using var dir = new TempDirectory();
        var (_, quantised, _, _) = SavedQuantised(dir, "int4:8");
        string weights = Path.Combine(quantised, Checkpoint.ReadManifest(quantised).ModelFile);
        string pristine = dir.File("pristine.safetensors"), manifestCopy = dir.File("checkpoint.json");
        File.Copy(weights, pristine);
        File.Copy(Path.Combine(quantised, Checkpoint.ManifestFile), manifestCopy);
        void Restore()
        {
            File.Copy(pristine, weights, overwrite: true);
            File.Copy(manifestCopy, Path.Combine(quantised, Checkpoint.ManifestFile), overwrite: true);
        }
        string Refusal()
        {
            var e = Assert.Throws<InvalidInputException>(() => ModelBundle.Load(quantised));
            Assert.DoesNotContain('\n', e.Message);
            Assert.Contains(weights, e.Message);
            return e.Message;
        }

        // Truncated: the header names tensors whose bytes are no longer there (checked before the hash, so the tensor is named).
        using (var f = File.OpenWrite(weights)) f.SetLength(f.Length - 100);
        Assert.Matches("tensor '[^']+': data_offsets end \\d+ is past the data block", Refusal());

        // Consistent as a file, inconsistent with the scheme: one layer's scales for the wrong number of groups.
        Restore();
        Rewrite(quantised, (name, t) => name == "h.0.attn.c_attn.quant.scale" ? cat([t, t.narrow(1, 0, 1)], 1) : t);
        Assert.Contains("tensor 'h.0.attn.c_attn.quant.scale' is F32 [96, 5], but the int4 (group 8) model of this configuration has F32 [96, 4]", Refusal());

        // One layer's offsets in another dtype; one layer's codes missing.
        Restore();
        Rewrite(quantised, (name, t) => name == "h.1.mlp.c_fc.quant.offset" ? t.to(ScalarType.Float64) : t);
        Assert.Contains("tensor 'h.1.mlp.c_fc.quant.offset' is F64", Refusal());
        Restore();
        Rewrite(quantised, (name, t) => name == "h.0.mlp.c_proj.quant.qweight" ? null : t);
        Assert.Contains("tensor 'h.0.mlp.c_proj.quant.qweight' is missing", Refusal());

        // Well-formed and re-signed, but a scale no quantiser writes.
        Restore();
        Rewrite(quantised, (name, t) => name == "h.1.attn.c_proj.quant.scale" ? t.index_fill(1, tensor(new long[] { 0 }), float.NaN) : t);
        Assert.Contains("tensor 'h.1.attn.c_proj.quant.scale' holds a non-positive or non-finite value", Refusal());

        // A byte changed without re-signing: the hash catches it.
        Restore();
        byte[] bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(weights, bytes);
        Assert.Contains("SHA-256 does not match", Refusal());
    }
}
