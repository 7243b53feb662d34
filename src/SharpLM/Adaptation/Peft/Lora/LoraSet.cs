using SharpLM.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpLM.Adaptation.Peft.Lora;

/// <summary>
/// Several LoRA adapters over one copy of a base model, each batch row computed with its own adapter (or none):
/// how multi-LoRA servers (S-LoRA, vLLM's --lora-modules, LoRAX) serve many fine-tunes of one base in one batch.
/// Every adapted Linear gets one <see cref="RoutedLora"/> delta holding that layer's <see cref="LoraLayer"/>s of every
/// adapter; before a forward pass the caller says which adapter each row uses (<see cref="Route"/>), and the delta
/// adds to each row only its adapter's update. A row's output is then exactly what the base with that adapter alone
/// gives (the rows of one adapter are computed together, gathered from the batch and put back).
/// <para>Only LoRA composes this way: it adds to a layer's output and leaves the base alone. Prefix and prompt
/// tuning change the sequence itself and a bottleneck adapter the block's output, so those are served one per base.</para>
/// </summary>
public sealed class LoraSet
{
    readonly RowRoute route = new();

    LoraSet(IReadOnlyList<string> directories) => Directories = directories;

    /// <summary>The adapters' directories; an adapter's number is its index here.</summary>
    public IReadOnlyList<string> Directories { get; }

    /// <summary>Number of adapters.</summary>
    public int Count => Directories.Count;

    /// <summary>
    /// Loads the SharpLM LoRA adapters in <paramref name="dirs"/> over <paramref name="model"/>, which must be the base
    /// every one of them was trained on (checked as <see cref="PeftMethod.Load"/> checks it) and carry no other
    /// method. Until <see cref="Route"/> says otherwise every row computes the base.
    /// </summary>
    /// <exception cref="InvalidInputException">A directory is not a SharpLM LoRA adapter of this base, or a file in it is malformed; the message names it.</exception>
    public static LoraSet Attach(Gpt model, IReadOnlyList<string> dirs, string? baseCheckpoint = null)
    {
        if (dirs.Count == 0) throw new ArgumentException("no adapters", nameof(dirs));
        // Every check first, against the plain base: once the routed layers are attached its hash is undefined.
        var configs = dirs.Select(dir =>
        {
            if (HfPeftLora.IsPeftFolder(dir)) throw InvalidInputException.ForFile(dir, "is a Hugging Face PEFT folder; several adapters over one base take SharpLM LoRA adapters (serve a PEFT folder alone with --adapter)");
            var config = AdapterDirectory.ReadConfig(dir);
            if (config.Method != PeftMethods.Lora.Name || config.Lora is null)
                throw InvalidInputException.ForFile(Path.Combine(dir, AdapterDirectory.ConfigFile), $"is a {config.Method} adapter; only LoRA adapters share a base row by row (serve it alone with --adapter)");
            AdapterDirectory.CheckBase(dir, config, model, baseCheckpoint);
            return config;
        }).ToList();

        var linearPaths = model.named_modules().Where(m => m.module is Linear).ToDictionary(m => (Linear)m.module, m => m.name, (IEqualityComparer<Linear>)ReferenceEqualityComparer.Instance);
        var perLinear = new Dictionary<Linear, List<LoraLayer>[]>(ReferenceEqualityComparer.Instance);
        for (int a = 0; a < dirs.Count; a++)
        {
            var options = configs[a].Lora!;
            var tensors = new List<(string Name, Tensor Value)>();
            foreach (var target in LoraTargets.Select(model, options.TargetModules, Path.Combine(dirs[a], AdapterDirectory.ConfigFile)))
            {
                var layer = new LoraLayer(target.Layer, target.RowOffset, target.Rows, options);
                layer.eval();
                // The names LoraTuning saves under: the layer's module path and the delta's child name.
                string prefix = $"{linearPaths[target.Layer]}.{target.ChildName}.";
                tensors.Add((prefix + "lora_A", layer.A));
                tensors.Add((prefix + LoraLayer.BName, layer.B));
                if (!perLinear.TryGetValue(target.Layer, out var byAdapter))
                    perLinear[target.Layer] = byAdapter = Enumerable.Range(0, dirs.Count).Select(_ => new List<LoraLayer>()).ToArray();
                byAdapter[a].Add(layer);
            }
            AdapterDirectory.LoadWeights(dirs[a], configs[a], tensors);
        }
        foreach (var p in model.parameters()) p.requires_grad = false;
        var set = new LoraSet(dirs.ToList());
        foreach (var (linear, byAdapter) in perLinear)
            linear.register_module("lora_routed", new RoutedLora(byAdapter, set.route));
        return set;
    }

    /// <summary>
    /// The adapters of the next forward passes' rows: <paramref name="rowAdapters"/>[i] is row i's adapter number, or
    /// −1 for the base. Index tensors are made here, once per pass, on <paramref name="device"/>.
    /// </summary>
    public void Route(IReadOnlyList<int> rowAdapters, Device device)
    {
        foreach (int a in rowAdapters)
            if (a < -1 || a >= Count) throw new ArgumentOutOfRangeException(nameof(rowAdapters), $"adapter {a}: there are {Count}");
        route.Set(rowAdapters, device);
    }

    /// <summary>Every row of the next passes uses adapter <paramref name="adapter"/> (−1: the base), whatever the batch size.</summary>
    public void RouteAll(int adapter)
    {
        if (adapter < -1 || adapter >= Count) throw new ArgumentOutOfRangeException(nameof(adapter), $"adapter {adapter}: there are {Count}");
        route.SetAll(adapter);
    }

    /// <summary>Which adapter each row of the current pass uses: one for all rows, or a set of row indices per adapter.</summary>
    sealed class RowRoute
    {
        public int All { get; private set; } = -1;
        public (int Adapter, Tensor Rows)[]? Groups { get; private set; }

        public void SetAll(int adapter)
        {
            Clear();
            All = adapter;
        }

        public void Set(IReadOnlyList<int> rows, Device device)
        {
            Clear();
            var distinct = rows.Distinct().ToArray();
            if (distinct.Length == 1)
            {
                All = distinct[0];
                return;
            }
            Groups = distinct.Where(a => a >= 0)
                .Select(a => (a, tensor(Enumerable.Range(0, rows.Count).Where(i => rows[i] == a).Select(i => (long)i).ToArray(), ScalarType.Int64, device).DetachFromDisposeScope()))
                .ToArray();
        }

        void Clear()
        {
            if (Groups is not null) foreach (var (_, t) in Groups) t.Dispose();
            Groups = null;
            All = -1;
        }
    }

    /// <summary>The delta of one Linear layer: its LoRA updates of every adapter, applied to the rows that use each.</summary>
    sealed class RoutedLora : nn.Module, ILinearDelta
    {
        readonly List<LoraLayer>[] byAdapter;
        readonly RowRoute route;
        readonly ModuleList<LoraLayer> layers; // registered, so the model counts as adapted and moves them with it

        public RoutedLora(List<LoraLayer>[] byAdapter, RowRoute route) : base(nameof(RoutedLora))
        {
            this.byAdapter = byAdapter;
            this.route = route;
            layers = new ModuleList<LoraLayer>(byAdapter.SelectMany(l => l).ToArray());
            RegisterComponents();
        }

        public Tensor Apply(Tensor input, Tensor output)
        {
            if (route.Groups is not { } groups)
                return route.All < 0 ? output : Add(route.All, input, output);
            Tensor result = output;
            foreach (var (adapter, rows) in groups)
                result = result.index_copy(0, rows, Add(adapter, input.index_select(0, rows), output.index_select(0, rows)));
            return result;
        }

        Tensor Add(int adapter, Tensor input, Tensor output)
        {
            foreach (var layer in byAdapter[adapter]) output = layer.Apply(input, output);
            return output;
        }
    }
}
