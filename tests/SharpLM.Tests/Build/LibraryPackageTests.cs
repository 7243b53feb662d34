using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;

namespace SharpLM.Tests.Build;

/// <summary>
/// SharpLM as a user's dependency: the library is packed as a NuGet package, and the README's "use it as a library"
/// example is compiled as a fresh console project (outside the repository, so none of its build settings apply)
/// against that package, then run. This is what a reader who copies the example gets.
/// </summary>
public class LibraryPackageTests
{
    /// <summary>The first C# block after the README's "Use it as a library" heading.</summary>
    internal static string ReadmeLibraryExample(string readme)
    {
        int section = readme.IndexOf("## Use it as a library", StringComparison.Ordinal);
        Assert.True(section >= 0, "README has no \"## Use it as a library\" section");
        var block = new Regex("```csharp\n(.*?)```", RegexOptions.Singleline).Match(readme, section);
        Assert.True(block.Success, "the library section has no ```csharp block");
        return block.Groups[1].Value;
    }

    static (int ExitCode, string Output) Run(string workingDirectory, TimeSpan limit, params string[] arguments)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        // The test host's MSBuild settings would leak into a nested build of an unrelated project.
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(key);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', arguments)} ran past {limit}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void The_readme_library_example_builds_against_the_packed_library_and_runs()
    {
        string root = TestData.RepositoryRoot;
        using var dir = new TempDirectory();
        // A version of its own, so the NuGet cache never serves an older build of this package.
        string version = $"0.0.0-test.{Guid.NewGuid():N}";
        string packages = Path.Combine(dir.Path, "packages");
        var pack = Run(root, TimeSpan.FromMinutes(5), "pack", Path.Combine(root, "src", "SharpLM"), "-c", "Release", "-o", packages, $"-p:Version={version}");
        Assert.True(pack.ExitCode == 0, pack.Output);
        string nupkg = Path.Combine(packages, $"SharpLM.{version}.nupkg");
        using (var zip = ZipFile.OpenRead(nupkg))
        {
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains("lib/net10.0/SharpLM.dll", entries);
            Assert.Contains("lib/net10.0/SharpLM.xml", entries); // the XML docs travel with the package
            Assert.Contains("buildTransitive/SharpLM.targets", entries);
        }

        string project = Path.Combine(dir.Path, "example");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "Program.cs"), ReadmeLibraryExample(File.ReadAllText(Path.Combine(root, "README.md"))));
        File.WriteAllText(Path.Combine(project, "example.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="SharpLM" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "nuget.config"), $"""
            <configuration>
              <packageSources>
                <add key="packed" value="{packages}" />
              </packageSources>
            </configuration>
            """);
        try
        {
            var run = Run(project, TimeSpan.FromMinutes(5), "run", "-c", "Release");
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Matches(@"trained [\d,]+ parameters: val loss \d+\.\d{3}", run.Output);
            Assert.Contains("the quick ", run.Output);
        }
        finally
        {
            try { Directory.Delete(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages", "sharplm", version), true); }
            catch (IOException) { }
        }
    }
}
