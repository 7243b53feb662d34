using Microsoft.Extensions.AI;
using SharpLM.Runtime;

namespace SharpLM.Adaptation.Formatting;

/// <summary>Settings of a <see cref="SelfInstruct"/> run; the defaults are the paper's.</summary>
public sealed record SelfInstructOptions
{
    /// <summary>Seeds the sampling of tasks shown in each prompt, and the chat seed of each request when
    /// <see cref="ChatOptions"/> sets none.</summary>
    public ulong Seed { get; init; } = 42;
    /// <summary>Stop once this many new tasks are kept.</summary>
    public int TargetTasks { get; init; } = 100;
    /// <summary>Stop after this many requests even if fewer tasks were kept (a weak model may never get there).</summary>
    public int MaxRequests { get; init; } = 1000;
    /// <summary>Tasks in each prompt: the paper uses 8, of which up to 2 machine-generated.</summary>
    public int TasksPerPrompt { get; init; } = 8;
    /// <summary>At most this many of the tasks in each prompt are machine-generated ones (the rest are seed tasks); the
    /// paper's 2. Must be between 0 and <see cref="TasksPerPrompt"/>.</summary>
    public int GeneratedTasksPerPrompt { get; init; } = 2;
    /// <summary>Show and ask for instances (input/output) with each instruction.</summary>
    public bool WithInstances { get; init; } = true;
    /// <summary>Sent with every request; null sends none. Its Seed, when unset, is derived from <see cref="Seed"/> per request.</summary>
    public ChatOptions? ChatOptions { get; init; }
    /// <summary>The filter; null uses <see cref="SelfInstructFilter"/>'s defaults (requiring outputs when <see cref="WithInstances"/>).</summary>
    public SelfInstructFilter? Filter { get; init; }
}

/// <summary>What a <see cref="SelfInstruct"/> run produced.</summary>
public sealed record SelfInstructResult(
    IReadOnlyList<SelfInstructTask> Generated,
    IReadOnlyList<(SelfInstructTask Task, SelfInstructRejection Reason)> Rejected,
    int Requests)
{
    /// <summary>Rejections counted by reason.</summary>
    public IReadOnlyDictionary<SelfInstructRejection, int> RejectedByReason =>
        Rejected.GroupBy(r => r.Reason).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Number of new tasks kept (the length of <see cref="Generated"/>).</summary>
    public int Kept => Generated.Count;
}

/// <summary>
/// Self-Instruct (Wang et al. 2023): starting from seed tasks, repeatedly prompt a model with tasks sampled from the
/// pool (up to 2 of them machine-generated), parse the new tasks it proposes, keep those that pass
/// <see cref="SelfInstructFilter"/> (novel by ROUGE-L, plus heuristics) and add them to the pool. Works with any
/// <see cref="IChatClient"/>: an OpenAI-compatible server, or a SharpLM checkpoint through
/// <c>Inference.CheckpointChatClient</c>. Seeded: the same client answers give the same pool.
/// </summary>
public static class SelfInstruct
{
    /// <exception cref="ArgumentException">No seed tasks, or bad counts.</exception>
    public static async Task<SelfInstructResult> RunAsync(IChatClient client, IReadOnlyList<SelfInstructTask> seeds, SelfInstructOptions options,
        CancellationToken cancellationToken = default)
    {
        if (seeds.Count == 0) throw new ArgumentException("Self-Instruct needs at least one seed task", nameof(seeds));
        if (options.TasksPerPrompt < 1 || options.GeneratedTasksPerPrompt < 0 || options.GeneratedTasksPerPrompt > options.TasksPerPrompt)
            throw new ArgumentException("TasksPerPrompt must be ≥ 1 and GeneratedTasksPerPrompt in [0, TasksPerPrompt]");
        var filter = options.Filter ?? new SelfInstructFilter { RequireOutput = options.WithInstances };
        var random = new SplitMix64(options.Seed);
        var pool = new HashSet<string>(seeds.Select(s => s.Instruction.Trim()), StringComparer.Ordinal);
        var generated = new List<SelfInstructTask>();
        var rejected = new List<(SelfInstructTask Task, SelfInstructRejection Reason)>();
        int requests = 0;

        while (generated.Count < options.TargetTasks && requests < options.MaxRequests)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var shown = Sample(random, generated, Math.Min(options.GeneratedTasksPerPrompt, generated.Count));
            shown.AddRange(Sample(random, seeds, Math.Min(options.TasksPerPrompt - shown.Count, seeds.Count)));
            Shuffle(random, shown);

            var chatOptions = options.ChatOptions?.Clone() ?? new ChatOptions();
            chatOptions.Seed ??= (long)(options.Seed + (ulong)requests);
            string prompt = SelfInstructPrompt.Build(shown, options.WithInstances);
            var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)], chatOptions, cancellationToken);
            requests++;

            bool truncated = response.FinishReason == ChatFinishReason.Length;
            foreach (var proposal in SelfInstructPrompt.Parse(response.Text, shown.Count + 1, truncated))
            {
                var task = proposal with { Instruction = proposal.Instruction.Trim() };
                if (filter.Check(task, pool) is { } reason)
                {
                    rejected.Add((task, reason));
                    continue;
                }
                pool.Add(task.Instruction);
                generated.Add(task);
                if (generated.Count == options.TargetTasks) break;
            }
        }
        return new SelfInstructResult(generated, rejected, requests);
    }

    // k distinct items in random order (partial Fisher–Yates).
    static List<T> Sample<T>(SplitMix64 random, IReadOnlyList<T> items, int k)
    {
        var copy = items.ToArray();
        for (int i = 0; i < k; i++)
        {
            int j = i + (int)random.NextLong(copy.Length - i);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }
        return copy[..k].ToList();
    }

    static void Shuffle<T>(SplitMix64 random, List<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = (int)random.NextLong(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
