namespace SharpLM.Data.Cleaning;

/// <summary>
/// One block of a cleaning pipeline (datatrove's "pipeline of small blocks"), cut in two. The parallel half
/// (<see cref="Prepare"/>) is per-document work that can run on any thread or any MPI rank: filtering, hashing,
/// signatures, redaction. The ordered half (<see cref="Decide"/>) is the decision that needs every earlier
/// document, made once per document in input order: which duplicates to drop. Splitting them is what lets one
/// process use every core and several processes share a corpus while the output stays that of one sequential pass.
/// </summary>
public abstract class CleaningStage
{
    /// <summary>The stage's name in reports and in the <see cref="CleaningStages"/> registry.</summary>
    public abstract string Name { get; }

    /// <summary>Position in the pipeline, which indexes the per-stage slots of a <see cref="CleaningItem"/>.</summary>
    public int Index { get; internal set; }

    /// <summary>The parallel half: thread-safe, looks at one document only; may set <see cref="CleaningItem.Stopped"/>.</summary>
    public abstract void Prepare(CleaningItem item);

    /// <summary>
    /// The ordered half, called once per document in input order: returns the reason to reject it, or null to pass it
    /// on (updating <see cref="CleaningItem.Current"/> and <see cref="CleaningItem.Bytes"/> when it changes the text).
    /// </summary>
    public abstract string? Decide(CleaningItem item, CleaningReport report);
}

/// <summary>
/// A stage whose ordered half keeps state across documents (a dedup index). To run over several processes, each
/// rank writes the keys its documents need (<see cref="WriteKey"/>), and every later rank replays those keys
/// (<see cref="Replay"/>) before its own documents, so its index is what one process would hold at that point.
/// </summary>
public abstract class OrderedStage : CleaningStage
{
    /// <summary>Writes what <see cref="Replay"/> needs of a document whose parallel halves all passed it.</summary>
    public abstract void WriteKey(CleaningItem item, BinaryWriter writer);

    /// <summary>
    /// Runs the ordered half for another rank's document from its key (read from <paramref name="reader"/>),
    /// updating the index as <see cref="CleaningStage.Decide"/> would; false when the document stops here.
    /// </summary>
    public abstract bool Replay(string id, BinaryReader reader);
}
