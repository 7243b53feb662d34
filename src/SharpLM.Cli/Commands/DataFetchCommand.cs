using System.CommandLine;
using System.Text.Json;
using SharpLM.Data.Catalog;
using SharpLM.Runtime;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

/// <summary>`sharplm data fetch NAME|all` and `sharplm data list`: the data sets of the manifest, fetched and verified.</summary>
public static class DataFetchCommand
{
    public static Command CreateFetch()
    {
        var names = new Argument<string[]>("name") { Description = "Data set names, or 'all' (see `sharplm data list`).", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON instead of a table." };
        var fetch = new Command("fetch", "Download data sets into the cache (~/.cache/sharplm or SHARPLM_DATA), or copy them from --mirror, verifying every SHA-256.") { names, json };
        fetch.SetAction(parse =>
        {
            var store = DataStore.Default;
            var wanted = parse.GetValue(names)!;
            var sets = wanted.Contains("all") ? store.Manifest.Datasets : wanted.Select(store.Manifest.Get).ToList();
            var rows = new List<FetchRow>();
            var failures = new List<string>();
            var progress = new LiveLine();
            foreach (var set in sets)
            {
                try
                {
                    foreach (var got in store.Fetch(set.Name, DownloadReport.To(progress.Show)))
                        rows.Add(new FetchRow(set.Name, got.File.Path, got.File.Bytes, Word(got.Source), got.LocalPath, got.File.Sha256));
                }
                catch (InvalidInputException e)
                {
                    failures.Add(e.Message);
                    rows.Add(new FetchRow(set.Name, "", 0, "failed", "", ""));
                }
                finally { progress.Clear(); }
            }
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(new { cache = store.Options.CacheDirectory, files = rows, errors = failures }, Json.Options));
            else
            {
                var table = new Table().AddColumn("data set").AddColumn("file").AddColumn(new TableColumn("size").RightAligned()).AddColumn("from").AddColumn("sha-256");
                foreach (var r in rows) table.AddRow(Markup.Escape(r.Dataset), Markup.Escape(r.File), r.Bytes > 0 ? DownloadReport.Size(r.Bytes) : "", r.Source, r.Sha256.Length > 0 ? r.Sha256[..12] + "… ok" : "");
                AnsiConsole.Write(table);
                Console.WriteLine($"{rows.Count(r => r.Source != "failed")} files verified in {store.Options.CacheDirectory}");
            }
            foreach (string failure in failures) Console.Error.WriteLine($"error: {failure}");
            return failures.Count == 0 ? 0 : 1;
        });
        return fetch;
    }

    public static Command CreateList()
    {
        var json = new Option<bool>("--json") { Description = "Print the list as JSON instead of a table." };
        var list = new Command("list", "List the data sets SharpLM reads by name: files, size, licence, and whether a verified copy is here.") { json };
        list.SetAction(parse =>
        {
            var store = DataStore.Default;
            var rows = store.Manifest.Datasets.Select(set =>
            {
                var status = set.Files.Select(store.Locate).ToList();
                string state = status.Any(s => s.Problem is not null) ? "corrupt: " + status.First(s => s.Problem is not null).Problem
                    : status.All(s => s.Source == DataFileSource.Mirror) ? "mirror"
                    : status.All(s => s.LocalPath is not null) ? "cached" : "not fetched";
                return new { name = set.Name, files = set.Files.Count, bytes = set.Bytes, licence = set.Licence, state, description = set.Description };
            }).ToList();
            if (parse.GetValue(json)) { Console.WriteLine(JsonSerializer.Serialize(rows, Json.Options)); return 0; }
            var table = new Table().AddColumn("name").AddColumn(new TableColumn("size").RightAligned()).AddColumn("here").AddColumn("licence");
            foreach (var r in rows) table.AddRow(r.name, DownloadReport.Size(r.bytes), Markup.Escape(r.state), Markup.Escape(r.licence));
            AnsiConsole.Write(table);
            Console.WriteLine($"cache: {store.Options.CacheDirectory}; mirrors: {(store.Options.Mirrors.Count == 0 ? "none" : string.Join(", ", store.Options.Mirrors))}");
            return 0;
        });
        return list;
    }

    static string Word(DataFileSource source) => source switch
    {
        DataFileSource.Mirror => "mirror",
        DataFileSource.Cache => "cache",
        DataFileSource.CopiedFromMirror => "copied",
        _ => "downloaded",
    };

    sealed record FetchRow(string Dataset, string File, long Bytes, string Source, string Path, string Sha256);

    /// <summary>One progress line on stderr, rewritten in place on a terminal and printed about once a second otherwise.</summary>
    sealed class LiveLine
    {
        readonly bool terminal = !Console.IsErrorRedirected;
        DateTime last = DateTime.MinValue;
        bool shown;

        public void Show(string line)
        {
            if (terminal) { Console.Error.Write($"\r{line,-100}"); shown = true; return; }
            if (DateTime.UtcNow - last < TimeSpan.FromSeconds(1)) return;
            last = DateTime.UtcNow;
            Console.Error.WriteLine(line);
        }

        public void Clear()
        {
            if (shown) Console.Error.Write($"\r{new string(' ', 100)}\r");
            shown = false;
        }
    }
}
