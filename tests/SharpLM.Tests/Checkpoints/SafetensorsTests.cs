using System.Text;
using System.Text.Json.Nodes;
using SharpLM.Checkpoints;
using SharpLM.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpLM.Tests.Checkpoints;

public class SafetensorsTests
{
    static (string Name, Tensor Tensor)[] Sample() =>
    [
        ("a.f32", arange(6, ScalarType.Float32).reshape(2, 3) / 4 - 0.5),
        ("b.f16", tensor(new[] { 1.5f, -2.25f, 65504f }).to(ScalarType.Float16)),
        ("c.bf16", tensor(new[] { 3.140625f, -1e-3f, 1e30f, 0f }).reshape(2, 2).to(ScalarType.BFloat16)),
        ("d.i64", tensor(new long[] { -(1L << 40), 7 })),
        ("e.empty", zeros(0, 4)),
    ];

    [Fact]
    public void Tensors_and_metadata_round_trip_bit_for_bit_in_every_dtype()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.safetensors");
        var sample = Sample();
        SafetensorsWriter.Write(path, sample, new Dictionary<string, string> { ["format"] = "pt" });
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(sample.Select(s => s.Name), file.Entries.Select(e => e.Name));
        foreach (var (name, expected) in sample)
        {
            using var read = file.Read(name);
            Assert.Equal(expected.dtype, read.dtype);
            Assert.Equal(expected.shape, read.shape);
            Assert.True(expected.to(ScalarType.Float64).Equals(read.to(ScalarType.Float64)), name);
        }
        using var widened = file.Read("c.bf16", ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, widened.dtype);
        Assert.Equal(3.140625f, widened[0, 0].item<float>());
        // The header is padded with spaces to a multiple of 8, as Hugging Face's library writes it.
        Assert.Equal(0, (long)BitConverter.ToUInt64(File.ReadAllBytes(path), 0) % 8);
    }

    [PythonTorchFact]
    public void Files_agree_with_an_independent_reading_of_the_format_in_python()
    {
        using var dir = new TempDirectory();
        string ours = dir.File("ours.safetensors"), theirs = dir.File("theirs.safetensors");
        var sample = Sample();
        SafetensorsWriter.Write(ours, sample);
        var response = PythonTorch.RunJson(TestData.Fixture(Path.Combine("checkpoints", "safetensors_reference.py")),
            new JsonObject { ["write"] = theirs, ["read"] = ours });

        // Python read ours.
        foreach (var (name, t) in sample)
        {
            var entry = response["read"]![name]!;
            Assert.Equal(SafetensorsDtype.Name(t.dtype), (string)entry["dtype"]!);
            Assert.Equal(t.shape, entry["shape"]!.AsArray().Select(d => (long)d!).ToArray());
            double[] values = entry["values"]!.AsArray().Select(v => (double)v!).ToArray();
            Assert.Equal(t.to(ScalarType.Float64).flatten().data<double>().ToArray(), values);
        }
        // We read Python's.
        using var file = SafetensorsFile.Open(theirs);
        Assert.Equal("python", file.Metadata["origin"]);
        Assert.Equal(["z.f32", "y.f16", "x.bf16", "w.i64", "v.empty"], file.Entries.Select(e => e.Name));
        using (var z = file.Read("z.f32")) Assert.True(z.Equals(arange(6, ScalarType.Float32).reshape(2, 3) / 4 - 0.5));
        using (var x = file.Read("x.bf16", ScalarType.Float32))
            Assert.True(x.Equals(tensor(new[] { 3.140625f, -1e-3f, 1e30f, 0f }).reshape(2, 2).to(ScalarType.BFloat16).to(ScalarType.Float32)));
        using (var w = file.Read("w.i64")) Assert.Equal(new[] { -(1L << 40), 7 }, w.data<long>().ToArray());
        using (var v = file.Read("v.empty")) Assert.Equal(new long[] { 0, 4 }, v.shape);
    }

    /// <summary>A file with <paramref name="header"/> (JSON) and <paramref name="dataBytes"/> zero bytes of data.</summary>
    static string Forge(TempDirectory dir, string header, int dataBytes, long? declaredLength = null)
    {
        string path = dir.File($"forged-{Guid.NewGuid():N}.safetensors");
        byte[] json = Encoding.UTF8.GetBytes(header);
        using var s = File.Create(path);
        s.Write(BitConverter.GetBytes((ulong)(declaredLength ?? json.Length)));
        s.Write(json);
        s.Write(new byte[dataBytes]);
        return path;
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4, "past the data block")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, "8 bytes for shape [3] of F32 (needs 12)")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "overlaps")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "belong to no tensor")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 8, "the data block has 8")]
    [InlineData("""{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}""", 4, "dtype 'Q4' is not supported")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4, "not a non-negative integer")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}""", 4, "shape [4294967296, 4294967296] has too many elements")]
    [InlineData("""{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}}""", 8, "shape [4611686018427387904] of F64 is too large")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", 8, "is before begin")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1]}}""", 4, "data_offsets missing")]
    [InlineData("""[1,2]""", 0, "must be a JSON object")]
    [InlineData("""{"a":""", 0, "not valid JSON")]
    [InlineData("""{"__metadata__":{"k":1}}""", 0, "__metadata__.k must be a string")]
    public void A_forged_header_is_refused_before_any_data_is_read_naming_the_file_and_the_problem(string header, int dataBytes, string problem)
    {
        using var dir = new TempDirectory();
        string path = Forge(dir, header, dataBytes);
        var e = Assert.Throws<InvalidInputException>(() => SafetensorsFile.Open(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData(1_000_000_000L, "exceeds the limit")]
    [InlineData(64L, "runs past the end of the file")]
    public void A_header_length_beyond_the_file_or_the_limit_is_refused(long declared, string problem)
    {
        using var dir = new TempDirectory();
        string path = Forge(dir, "{}", 0, declared);
        Assert.Contains(problem, Assert.Throws<InvalidInputException>(() => SafetensorsFile.Open(path)).Message);
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("too short", Assert.Throws<InvalidInputException>(() => SafetensorsFile.Open(path)).Message);
    }

    [Fact]
    public void A_thousand_mutated_or_truncated_files_give_only_one_line_errors_never_a_crash()
    {
        using var dir = new TempDirectory();
        string good = dir.File("good.safetensors");
        SafetensorsWriter.Write(good, Sample());
        byte[] original = File.ReadAllBytes(good);
        int headerEnd = 8 + (int)BitConverter.ToUInt64(original, 0);
        var random = new SplitMix64(20261207);
        int refused = 0, opened = 0;
        for (int i = 0; i < 1000; i++)
        {
            byte[] bytes = (byte[])original.Clone();
            switch (i % 3)
            {
                case 0: // flip bytes in the length or the header
                    for (int k = 0; k < 1 + (int)random.NextLong(4); k++) bytes[(int)random.NextLong(headerEnd)] ^= (byte)(1 + random.NextLong(255));
                    break;
                case 1: // truncate anywhere
                    Array.Resize(ref bytes, (int)random.NextLong(bytes.Length));
                    break;
                default: // replace a header digit with another, moving offsets and shapes
                    var digits = Enumerable.Range(8, headerEnd - 8).Where(p => char.IsAsciiDigit((char)bytes[p])).ToArray();
                    bytes[digits[(int)random.NextLong(digits.Length)]] = (byte)('0' + random.NextLong(10));
                    break;
            }
            string path = dir.File($"m{i}.safetensors");
            File.WriteAllBytes(path, bytes);
            try
            {
                using var file = SafetensorsFile.Open(path);
                foreach (var e in file.Entries) file.Read(e.Name).Dispose(); // whatever opens must read within bounds
                opened++;
            }
            catch (InvalidInputException e)
            {
                Assert.StartsWith(path + ": ", e.Message);
                Assert.DoesNotContain('\n', e.Message);
                refused++;
            }
        }
        Assert.Equal(1000, refused + opened);
        Assert.True(refused > 500, $"only {refused} of 1000 mutations were refused");
    }
}
