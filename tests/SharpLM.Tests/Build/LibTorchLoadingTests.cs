using TorchSharp;

namespace SharpLM.Tests.Build;

public class LibTorchLoadingTests
{
    const string Version = "GLIBCXX_3.4.32";

    [Fact]
    public void Libtorch_loads_and_computes()
    {
        using var t = torch.arange(1, 5, dtype: torch.ScalarType.Float32);
        Assert.Equal(10f, t.sum().item<float>());
    }

    [Fact]
    public void Copied_glue_library_is_patched_exactly_when_the_system_lacks_the_version()
    {
        string lib = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        Assert.True(File.Exists(lib), $"{lib} missing");
        ushort? flags = ElfVersionRequirement.Flags(File.ReadAllBytes(lib), Version);
        Assert.NotNull(flags); // TorchSharp 0.107's glue requires it; if this fails the fix may be obsolete

        string? system = ElfVersionRequirement.FindSystemLibStdCxx();
        bool systemHasIt = system is not null && ElfVersionRequirement.LibraryMentions(system, Version); // unknown: the build patches
        bool weak = (flags!.Value & ElfVersionRequirement.VerFlgWeak) != 0;
        Assert.Equal(!systemHasIt, weak);
    }

    [Fact]
    public void Weakening_is_idempotent_and_touches_only_the_flag()
    {
        byte[] original = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"));
        // Clear the bit first so the test does not depend on whether the build patched this copy.
        byte[] strict = (byte[])original.Clone();
        SetFlags(strict, (ushort)(ElfVersionRequirement.Flags(strict, Version)!.Value & ~ElfVersionRequirement.VerFlgWeak));

        byte[] patched = (byte[])strict.Clone();
        Assert.True(ElfVersionRequirement.MakeWeak(patched, Version));
        Assert.Equal(ElfVersionRequirement.VerFlgWeak, ElfVersionRequirement.Flags(patched, Version)!.Value & ElfVersionRequirement.VerFlgWeak);
        Assert.Equal(1, strict.Zip(patched).Count(p => p.First != p.Second)); // exactly one byte differs

        byte[] again = (byte[])patched.Clone();
        Assert.False(ElfVersionRequirement.MakeWeak(again, Version));
        Assert.Equal(patched, again);

        Assert.Null(ElfVersionRequirement.Flags(strict, "GLIBCXX_9.9.99"));
        Assert.False(ElfVersionRequirement.MakeWeak(strict, "GLIBCXX_9.9.99"));
    }

    [Fact]
    public void Non_elf_input_is_rejected()
    {
        Assert.Throws<InvalidDataException>(() => ElfVersionRequirement.Flags(new byte[100], Version));
    }

    static void SetFlags(byte[] elf, ushort flags) =>
        BitConverter.GetBytes(flags).CopyTo(elf, (int)ElfVersionRequirement.FindVernaux(elf, Version)!.Value + 4);
}
