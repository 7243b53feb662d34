using SharpLM.Sandbox;
using System.Text.Json;
using SharpLM.Evaluation.CodeExecution;

namespace SharpLM.Evaluation.Harness;

/// <summary>
/// Code tasks' programs (HumanEval: prompt + completion + tests + check(entry_point); MBPP: setup + completion +
/// asserts, as the official harnesses assemble them) run in the <see cref="CodeSandbox"/>, one child process each.
/// Without python3, or without bubblewrap when weaker isolation was not allowed, the runner says so and code tasks
/// are reported as skipped, never scored 0.
/// </summary>
public sealed class SandboxedCodeRunner : ICodeRunner
{
    readonly CodeSandbox? sandbox;

    SandboxedCodeRunner(CodeSandbox? sandbox, string? unavailable) => (this.sandbox, Unavailable) = (sandbox, unavailable);

    /// <summary>Why code cannot run here (no usable python3, or no bubblewrap and weaker isolation not allowed), or null when it can.</summary>
    public string? Unavailable { get; }
    /// <summary>What isolates the programs here (bubblewrap, a network namespace, or a Python guard only), with the limits.</summary>
    public string? Isolation => sandbox?.Summary;
    /// <summary>The isolation level programs run under (recorded in results.json), or null when unavailable.</summary>
    public string? IsolationLevel => sandbox?.Isolation.Level.ToString();

    /// <summary>A runner on a <see cref="CodeSandbox"/> with <paramref name="options"/>; without a usable python3 or
    /// bubblewrap (unless weaker isolation is allowed) one whose <see cref="Unavailable"/> says why, rather than an exception.</summary>
    /// <exception cref="NotSupportedException">The isolation level the options ask for does not work here.</exception>
    public static async Task<SandboxedCodeRunner> CreateAsync(SandboxOptions? options = null, CancellationToken cancellation = default)
    {
        try { return new SandboxedCodeRunner(await CodeSandbox.CreateAsync(options, cancellation), null); }
        catch (PythonNotFoundException e) { return new SandboxedCodeRunner(null, $"code tasks need python3: {e.Message}"); }
        catch (SandboxUnavailableException e) { return new SandboxedCodeRunner(null, $"code tasks need a sandbox: {e.Message}"); }
    }

    /// <summary>Assembles each task's program from its document and completion, runs them in parallel in the sandbox,
    /// and returns whether each passed, in order.</summary>
    /// <exception cref="InvalidOperationException">The runner is unavailable.</exception>
    /// <exception cref="InvalidInputException">A task's program kind is neither "humaneval" nor "mbpp".</exception>
    public async Task<IReadOnlyList<bool>> RunAsync(IReadOnlyList<(TaskConfig Task, JsonElement Document, string Completion)> programs, CancellationToken cancellation)
    {
        if (sandbox is null) throw new InvalidOperationException(Unavailable);
        var sources = programs.Select(p => p.Task.Program switch
        {
            "humaneval" => HumanEvalProblem.FromJson(p.Document).Program(p.Completion),
            "mbpp" => MbppProblem.FromJson(p.Document).Program(p.Completion),
            var other => throw new InvalidInputException($"{p.Task.Task}: unknown program kind '{other}' (humaneval, mbpp)"),
        }).ToList();
        var results = await sandbox.RunAllAsync(sources, cancellation: cancellation);
        return results.Select(r => r.Passed).ToArray();
    }
}
