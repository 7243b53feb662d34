namespace SharpLM.Training;

/// <summary>
/// The one way to pre-train from the library, whatever the model: an n-gram model is counted
/// (<see cref="NGramTrainer"/>), every neural one is trained by <see cref="Trainer"/>. The CLI, the experiments and the
/// speedrun call this; data comes from <see cref="Data.DataPreparer.PrepareOnce"/>.
/// </summary>
public static class Pretraining
{
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
