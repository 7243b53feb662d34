using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using SharpLM.Data.Catalog;

namespace SharpLM.Tests.Data.Catalog;

public class DataStoreTests
{
    /// <summary>
    /// A file server on 127.0.0.1 that honours byte ranges (or ignores them, like a server without range support),
    /// can cut a response short, and records the Range header of each request.
    /// </summary>
    sealed class FileServer : IDisposable
    {
        readonly HttpListener listener = new();
        readonly Dictionary<string, byte[]> files = [];
        readonly Task loop;

        public FileServer()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Prefix = $"http://127.0.0.1:{port}/";
            listener.Prefixes.Add(Prefix);
            listener.Start();
            loop = Task.Run(Serve);
        }

        public string Prefix { get; }
        public bool HonourRanges { get; set; } = true;
        /// <summary>Close the connection after this many bytes of the next response (then serve normally).</summary>
        public int? CutAfter { get; set; }
        public List<string?> Ranges { get; } = [];

        public string Add(string name, byte[] content)
        {
            files["/" + name] = content;
            return Prefix + name;
        }

        async Task Serve()
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await listener.GetContextAsync(); }
                catch (Exception) { return; }
                var response = context.Response;
                string? range = context.Request.Headers["Range"];
                lock (Ranges) Ranges.Add(range);
                if (!files.TryGetValue(context.Request.Url!.AbsolutePath, out var body))
                {
                    response.StatusCode = 404;
                    response.Close();
                    continue;
                }
                int start = 0;
                if (range is not null && HonourRanges)
                {
                    start = int.Parse(range["bytes=".Length..].TrimEnd('-'));
                    response.StatusCode = 206;
                    response.AddHeader("Content-Range", $"bytes {start}-{body.Length - 1}/{body.Length}");
                }
                int length = body.Length - start;
                if (CutAfter is int cut)
                {
                    CutAfter = null;
                    response.ContentLength64 = length;
                    response.OutputStream.Write(body, start, Math.Min(cut, length));
                    response.Abort(); // the connection drops mid-body
                    continue;
                }
                response.ContentLength64 = length;
                response.OutputStream.Write(body, start, length);
                response.Close();
            }
        }

        public void Dispose()
        {
            listener.Stop();
            listener.Close();
            try { loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        }
    }

    static byte[] Content(int size, int seed = 1)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (int line = 0; text.Length < size; line++) text.Append($"line {line} {random.Next()}\n");
        return Encoding.UTF8.GetBytes(text.ToString()[..size]);
    }

    static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    static DataStore Store(string cache, DatasetManifest manifest, params string[] mirrors) =>
        new(new DataStoreOptions { CacheDirectory = cache, Mirrors = mirrors, ConnectTimeout = TimeSpan.FromSeconds(5) }, manifest);

    static DatasetManifest OneFile(string url, byte[] content, string path = "toy/data.txt") =>
        new([new Dataset("toy", "a toy data set", "MIT", [new DatasetFile(path, url, content.Length, Sha(content))])]);

    [Fact]
    public void A_missing_file_is_downloaded_verified_and_then_read_from_the_cache()
    {
        using var server = new FileServer();
        using var dir = new TempDirectory();
        byte[] content = Content(300_000);
        var store = Store(dir.File("cache"), OneFile(server.Add("data.txt", content), content));
        var reports = new List<DownloadProgress>();
        string path = store.ResolveFile("toy/data.txt", new Sink(reports.Add));
        Assert.Equal(content, File.ReadAllBytes(path));
        Assert.Equal(Path.Combine(dir.File("cache"), "toy", "data.txt"), path);
        Assert.Equal(content.Length, reports[^1].Received);
        Assert.Equal(content.Length, reports[^1].Total);
        Assert.False(File.Exists(path + ".part"));
        Assert.Equal(path, store.ResolveFile("toy/data.txt"));
        Assert.Single(server.Ranges); // the second call read the cache
    }

    [Fact]
    public void An_interrupted_download_resumes_from_its_partial_file_with_a_range_request()
    {
        using var server = new FileServer();
        using var dir = new TempDirectory();
        byte[] content = Content(400_000);
        var store = Store(dir.File("cache"), OneFile(server.Add("data.txt", content), content));
        server.CutAfter = 150_000;
        var failure = Assert.Throws<InvalidInputException>(() => store.ResolveFile("toy/data.txt"));
        Assert.Contains("toy/data.txt", failure.Message);
        Assert.Contains("sharplm data fetch toy", failure.Message);
        long kept = new FileInfo(dir.File("cache/toy/data.txt.part")).Length;
        Assert.InRange(kept, 1, content.Length - 1);
        Assert.Equal(content, File.ReadAllBytes(store.ResolveFile("toy/data.txt")));
        Assert.Equal($"bytes={kept}-", server.Ranges[^1]);
    }

    [Fact]
    public void A_server_that_ignores_the_range_gets_a_fresh_whole_download()
    {
        using var server = new FileServer { HonourRanges = false };
        using var dir = new TempDirectory();
        byte[] content = Content(200_000);
        var store = Store(dir.File("cache"), OneFile(server.Add("data.txt", content), content));
        Directory.CreateDirectory(dir.File("cache/toy"));
        File.WriteAllBytes(dir.File("cache/toy/data.txt.part"), content[..50_000]);
        Assert.Equal(content, File.ReadAllBytes(store.ResolveFile("toy/data.txt")));
        Assert.Equal("bytes=50000-", server.Ranges[0]);
    }

    [Fact]
    public void A_stale_partial_file_that_does_not_verify_is_restarted_once_from_zero()
    {
        using var server = new FileServer();
        using var dir = new TempDirectory();
        byte[] content = Content(200_000);
        var store = Store(dir.File("cache"), OneFile(server.Add("data.txt", content), content));
        Directory.CreateDirectory(dir.File("cache/toy"));
        File.WriteAllBytes(dir.File("cache/toy/data.txt.part"), Content(50_000, seed: 9)); // a prefix of some other file
        Assert.Equal(content, File.ReadAllBytes(store.ResolveFile("toy/data.txt")));
        Assert.Equal(["bytes=50000-", null], server.Ranges);
    }

    [Fact]
    public void A_download_whose_hash_differs_is_refused_and_nothing_is_kept()
    {
        using var server = new FileServer();
        using var dir = new TempDirectory();
        byte[] content = Content(100_000), served = (byte[])content.Clone();
        served[777] ^= 1;
        var store = Store(dir.File("cache"), OneFile(server.Add("data.txt", served), content));
        var e = Assert.Throws<InvalidInputException>(() => store.ResolveFile("toy/data.txt"));
        Assert.Contains($"SHA-256 is {Sha(served)}, expected {Sha(content)}", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Empty(Directory.GetFiles(dir.File("cache"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_sliced_file_keeps_only_its_lines_of_the_verified_download()
    {
        using var server = new FileServer();
        using var dir = new TempDirectory();
        byte[] whole = Content(50_000);
        string[] lines = Encoding.UTF8.GetString(whole).Split('\n');
        byte[] slice = Encoding.UTF8.GetBytes(string.Join("", lines[2..7].Select(l => l + "\n")));
        string url = server.Add("whole.jsonl", whole);
        var manifest = new DatasetManifest([new Dataset("toy", "d", "MIT",
            [new DatasetFile("toy/slice.jsonl", url, slice.Length, Sha(slice), [3, 7], whole.Length, Sha(whole))])]);
        Assert.Equal(slice, File.ReadAllBytes(Store(dir.File("cache"), manifest).ResolveFile("toy/slice.jsonl")));
    }

    [Fact]
    public void A_mirror_copy_is_read_in_place_and_a_corrupt_byte_in_it_is_named()
    {
        using var dir = new TempDirectory();
        byte[] content = Content(10_000);
        Directory.CreateDirectory(dir.File("mirror/toy"));
        File.WriteAllBytes(dir.File("mirror/toy/data.txt"), content);
        var store = Store(dir.File("cache"), OneFile("http://127.0.0.1:9/never", content), dir.File("mirror"));
        Assert.Equal(dir.File("mirror/toy/data.txt"), store.ResolveFile("toy/data.txt"));

        byte[] corrupt = (byte[])content.Clone();
        corrupt[5000] ^= 0x20;
        File.WriteAllBytes(dir.File("mirror/toy/data.txt"), corrupt);
        var fresh = Store(dir.File("cache"), OneFile("http://127.0.0.1:9/never", content), dir.File("mirror"));
        var e = Assert.Throws<InvalidInputException>(() => fresh.ResolveFile("toy/data.txt"));
        Assert.StartsWith($"{dir.File("mirror/toy/data.txt")}: SHA-256 is {Sha(corrupt)}, the manifest says {Sha(content)}", e.Message);
        Assert.Throws<InvalidInputException>(() => fresh.Fetch("toy"));
    }

    [Fact]
    public void Fetch_copies_a_verified_mirror_into_the_cache_and_replaces_a_corrupt_cached_copy()
    {
        using var dir = new TempDirectory();
        byte[] content = Content(10_000);
        Directory.CreateDirectory(dir.File("mirror/toy"));
        File.WriteAllBytes(dir.File("mirror/toy/data.txt"), content);
        Directory.CreateDirectory(dir.File("cache/toy"));
        File.WriteAllBytes(dir.File("cache/toy/data.txt"), Content(10_000, seed: 3));
        var manifest = OneFile("http://127.0.0.1:9/never", content);
        var got = Assert.Single(Store(dir.File("cache"), manifest, dir.File("mirror")).Fetch("toy"));
        Assert.Equal(DataFileSource.CopiedFromMirror, got.Source);
        Assert.Equal(content, File.ReadAllBytes(dir.File("cache/toy/data.txt")));
        Assert.Equal(DataFileSource.Cache, Assert.Single(Store(dir.File("cache"), manifest).Fetch("toy")).Source);
    }

    [Fact]
    public void Offline_a_missing_data_set_is_one_line_naming_the_file_and_the_fetch_command()
    {
        using var dir = new TempDirectory();
        byte[] content = Content(1000);
        // Port 9 (discard) on loopback refuses connections: as good as no network.
        var store = Store(dir.File("cache"), OneFile("http://127.0.0.1:9/data.txt", content));
        var e = Assert.Throws<InvalidInputException>(() => store.ResolveFile("toy/data.txt"));
        Assert.StartsWith("toy/data.txt: data set 'toy' is not in the cache or any mirror and downloading it failed", e.Message);
        Assert.Contains("run `sharplm data fetch toy` when online, or pass --mirror DIR", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.NotNull(store.Unavailable("toy"));
        var off = new DataStore(new DataStoreOptions { CacheDirectory = dir.File("cache"), AllowDownload = false }, store.Manifest);
        Assert.Contains("downloads are off", off.Unavailable("toy"));
    }

    [Fact]
    public void Every_built_in_file_has_a_pinned_https_url_and_every_task_file_path_is_in_the_manifest()
    {
        var manifest = DatasetManifest.BuiltIn;
        Assert.All(manifest.Datasets.SelectMany(d => d.Files), f =>
            Assert.Matches("^https://raw\\.githubusercontent\\.com/[^/]+/[^/]+/[0-9a-f]{40}/", f.Url));
        foreach (string name in SharpLM.Evaluation.Harness.TaskConfig.BuiltIn)
        {
            var task = SharpLM.Evaluation.Harness.TaskConfig.Resolve(name);
            var paths = (task.Dataset.Parallel?.Values ?? Enumerable.Empty<string>()).Append(task.Dataset.Path).Append(task.Fewshot.PromptFile).OfType<string>();
            Assert.All(paths, p => Assert.True(manifest.FindFile(p) is not null, $"task {name}: {p} is not in the manifest"));
        }
    }

    [Theory]
    [InlineData("""{"datasets":[{"name":"x","description":"d","licence":"l","files":[{"path":"x/a","url":"https://h/a","bytes":1,"sha256":"00"}]}]}""", "data set 'x': files[0] (x/a): field 'sha256' must be 64 lower-case hex digits")]
    [InlineData("""{"datasets":[{"name":"x","description":"d","licence":"l","files":[{"path":"../a","url":"https://h/a","bytes":1,"sha256":"00"}]}]}""", "data set 'x': files[0]: field 'path' must be a relative path")]
    [InlineData("""{"datasets":[{"name":"x","description":"d","files":[]}]}""", "data set 'x': field 'files' must be a non-empty array")]
    [InlineData("""{"datasets":[{"name":"X Y","description":"d","licence":"l","files":[]}]}""", "data set 'X Y': field 'name' must be lower-case")]
    [InlineData("""{"datasets":[{"description":"d"}]}""", "datasets[0]: field 'name' must be a non-empty string")]
    public void Manifest_errors_name_the_data_set_the_file_and_the_field(string json, string problem)
    {
        var e = Assert.Throws<InvalidInputException>(() => DatasetManifest.Parse(json, "m.json"));
        Assert.StartsWith("m.json: ", e.Message);
        Assert.Contains(problem, e.Message);
    }

    sealed class Sink(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
