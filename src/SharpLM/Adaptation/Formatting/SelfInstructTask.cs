namespace SharpLM.Adaptation.Formatting;

/// <summary>
/// A task in the Self-Instruct pool: an instruction and one instance of it (input, possibly empty, and output).
/// Seed tasks are written by people; the rest are proposed by a model and kept by <see cref="SelfInstructFilter"/>.
/// </summary>
public sealed record SelfInstructTask(string Instruction, string Input = "", string Output = "")
{
    /// <summary>The task as an Alpaca record (the format Self-Instruct's data was released in, via Alpaca).</summary>
    public AlpacaRecord ToAlpaca() => new(Instruction, Input, Output);
}
