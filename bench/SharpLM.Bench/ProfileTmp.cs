using System.Diagnostics;
using SharpLM.Adaptation;
using SharpLM.Modeling;
using static TorchSharp.torch;
static class ProfileTmp { public static int Run() {
var bundle = ModelBundle.Load("/work/runs/decoding/target");
var gpt = (Gpt)bundle.Model; gpt.eval();
SharpLM.Runtime.TorchRuntime.SetThreads(2);
foreach (int b in new[] { 1, 4, 16 })
{
    using var cache = new SlotKvCache(gpt.Config, 16, CPU, ScalarType.Float32);
    var slots = Enumerable.Range(0, b).Select(i => (i * 7) % 16).ToArray();
    // prefill 100 tokens each
    using (inference_mode()) foreach (var s in slots) { using var sc = NewDisposeScope(); gpt.DecodeSlots(ones(1, 100, dtype: ScalarType.Int64), cache, [s]); }
    var clock = Stopwatch.StartNew();
    int steps = 100;
    for (int i = 0; i < steps; i++)
    {
        using var sc = NewDisposeScope();
        using var m = inference_mode();
        var logits = gpt.DecodeSlots(ones(b, 1, dtype: ScalarType.Int64), cache, slots);
        var arr = logits.to(ScalarType.Float32).cpu().data<float>().ToArray();
    }
    Console.WriteLine($"batch {b}: {clock.Elapsed.TotalMilliseconds / steps:F2} ms/step");
    // contiguous
    using var cache2 = new SlotKvCache(gpt.Config, 16, CPU, ScalarType.Float32);
    var slots2 = Enumerable.Range(0, b).ToArray();
    using (inference_mode()) foreach (var s in slots2) { using var sc = NewDisposeScope(); gpt.DecodeSlots(ones(1, 100, dtype: ScalarType.Int64), cache2, [s]); }
    clock.Restart();
    for (int i = 0; i < steps; i++)
    {
        using var sc = NewDisposeScope();
        using var m = inference_mode();
        var logits = gpt.DecodeSlots(ones(b, 1, dtype: ScalarType.Int64), cache2, slots2);
    }
    Console.WriteLine($"batch {b} contiguous: {clock.Elapsed.TotalMilliseconds / steps:F2} ms/step");
    var kv = (KvCache)gpt.NewDecodingState(1, CPU);
    using (inference_mode()) { using var sc = NewDisposeScope(); gpt.Decode(ones(1, 100, dtype: ScalarType.Int64), kv); }
    clock.Restart();
    for (int i = 0; i < steps; i++) { using var sc = NewDisposeScope(); using var m = inference_mode(); gpt.Decode(ones(1, 1, dtype: ScalarType.Int64), kv); }
    Console.WriteLine($"plain kv batch 1: {clock.Elapsed.TotalMilliseconds / steps:F2} ms/step");
}
return 0; } }
