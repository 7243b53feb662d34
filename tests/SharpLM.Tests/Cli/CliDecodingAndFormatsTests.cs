namespace SharpLM.Tests.Cli;

public class CliDecodingAndFormatsTests
{
    [Fact]
    public void Sample_decodes_by_beam_speculation_and_int8_and_reads_a_converted_hugging_face_folder()
    {
        using var dir = new TempDirectory();
        CliProcess.PretrainTiny(dir);
        string[] greedy = ["--prompt", "the ", "--max-new-tokens", "12", "--temperature", "0"];
        var plain = CliProcess.Run(["sample", "--checkpoint", dir.File("run"), .. greedy]);
        Assert.True(plain.ExitCode == 0, plain.Stderr);

        // Speculative decoding with the model as its own draft gives the plain greedy text.
        var speculative = CliProcess.Run(["sample", "--checkpoint", dir.File("run"), "--draft", dir.File("run"), "--lookahead", "3", .. greedy]);
        Assert.True(speculative.ExitCode == 0, speculative.Stderr);
        Assert.Equal(plain.Stdout.Trim(), speculative.Stdout.Trim());
        Assert.Contains("draft acceptance 100.0%", speculative.Stderr.Replace(" %", "%"));

        var beam = CliProcess.Run(["sample", "--checkpoint", dir.File("run"), "--beams", "3", .. greedy]);
        Assert.True(beam.ExitCode == 0, beam.Stderr);
        Assert.StartsWith("the ", beam.Stdout);

        var int8 = CliProcess.Run(["sample", "--checkpoint", dir.File("run"), "--quantize", "int8", .. greedy]);
        Assert.True(int8.ExitCode == 0, int8.Stderr);
        Assert.StartsWith("the ", int8.Stdout);

        // The preset is GPT-2's shape: it converts to a Hugging Face folder and samples the same from there.
        var convert = CliProcess.Run("convert", "--from", dir.File("run"), "--to", "hf:" + dir.File("hf"));
        Assert.True(convert.ExitCode == 0, convert.Stderr);
        Assert.Contains("gpt2", convert.Stdout);
        var fromHf = CliProcess.Run(["sample", "--checkpoint", "hf:" + dir.File("hf"), .. greedy]);
        Assert.Equal(plain.Stdout, fromHf.Stdout);
        // Its exact GELU is not llama.cpp's: GGUF export is refused, naming the field.
        var gguf = CliProcess.Run("convert", "--from", dir.File("run"), "--to", "gguf:" + dir.File("m.gguf"));
        Assert.NotEqual(0, gguf.ExitCode);
        Assert.Contains("activation 'gelu'", gguf.Stderr);
        Assert.False(File.Exists(dir.File("m.gguf")));
    }
}
