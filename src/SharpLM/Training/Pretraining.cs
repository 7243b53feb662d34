namespace SharpLM.Training;

/// <summary>
/// The one way to pre-train from the library, whatever the model: an n-gram model is counted
/// (<see cref="NGramTrainer"/>), every neural one is trained by <see cref="Trainer"/>. The CLI, the experiments and the
/// speedrun call this; data comes from <see cref="Data.DataPreparer.PrepareOnce"/>.
/// </summary>
public static class Pretraining
{
    /// <summary>
    /// The prepared data for a run: a prepared directory is used as is; raw text (a file, a .jsonl, a folder, a URL or
    /// a corpus name) is prepared into OUT/data once and reused on --resume. Data prepared from another source or with
    /// another tokenizer is never silently reused (<see cref="Data.DataPreparer.PrepareOnce"/>). Under mpirun rank 0
    /// prepares and the other ranks wait for it.
    /// </summary>
    /// <param name="dataSpec">What to train on.</param>
    /// <param name="field">The JSON field holding the text in .jsonl input.</param>
    /// <param name="tokenizer">The tokenizer kind to prepare with.</param>
    /// <param name="outDir">The run directory.</param>
    /// <param name="log">Told what is being prepared; null for silence.</param>
    /// <returns>The prepared-data directory.</returns>
    public static string PrepareData(string dataSpec, string field, string tokenizer, string outDir, Action<string>? log = null)
    {
        if (Directory.Exists(dataSpec) && Data.DataPreparer.IsPrepared(dataSpec)) return dataSpec;
        string prepared = Path.Combine(outDir, "data");
        var mpi = Distributed.Mpi.Launched ? Distributed.Mpi.Start() : null;
        if (mpi is null || mpi.Rank == 0)
        {
            string input = Path.GetFullPath(Data.Corpora.Resolve(dataSpec, log ?? (_ => { })));
            if (!Data.DataPreparer.IsPrepared(prepared)) log?.Invoke($"preparing {input} with the {tokenizer} tokenizer into {prepared}");
            var (made, fresh) = Data.DataPreparer.PrepareOnce(input, tokenizer, prepared, field);
            if (fresh) log?.Invoke($"  {made.TrainTokens:N0} train tokens, {made.ValTokens:N0} val tokens, vocabulary {made.VocabSize}");
        }
        mpi?.Barrier(); // the other ranks read what rank 0 prepared (a shared directory across hosts)
        return prepared;
    }

    /// <summary>Trains <paramref name="config"/>'s model on the data prepared in <paramref name="dataDir"/> into <paramref name="outDir"/>.</summary>
    /// <param name="config">The run's configuration: model.type picks the trainer.</param>
    /// <param name="dataDir">Prepared data (<see cref="Data.DataPreparer.PrepareOnce"/>).</param>
    /// <param name="outDir">The run directory.</param>
    /// <param name="observer">Progress, evaluations, checkpoints.</param>
    /// <param name="resume">Continue the run in <paramref name="outDir"/> (neural models; an n-gram model is recounted).</param>
    /// <param name="cancellation">Stops a neural run between steps.</param>
    public static TrainingSummary Run(PretrainConfig config, string dataDir, string outDir, ITrainingObserver? observer = null, bool resume = false, CancellationToken cancellation = default) =>
        config.Model.Type == "ngram"
            ? NGramTrainer.Run(config, dataDir, outDir, observer)
            : new Trainer(config, dataDir, outDir, observer).Run(resume, cancellation);
}
