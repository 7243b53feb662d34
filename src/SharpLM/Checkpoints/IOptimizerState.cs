namespace SharpLM.Checkpoints;

/// <summary>
/// An optimizer whose state a checkpoint saves and a resumed run restores (moments, step count). The checkpoint
/// format only needs these two calls, so it sits below the training code that owns the optimizer.
/// </summary>
public interface IOptimizerState
{
    /// <summary>Writes the state.</summary>
    void Save(BinaryWriter writer);

    /// <summary>Reads back what <see cref="Save"/> wrote, into an optimizer of the same shape.</summary>
    void Load(BinaryReader reader);
}
