namespace SharpLM.Adaptation.Formatting;

/// <summary>The instruction-data layouts <see cref="ChatDataReader"/> reads.</summary>
public enum ChatDataFormat
{
    /// <summary>Decided by the first record's fields: "conversations", "messages" or "instruction".</summary>
    Auto,
    /// <summary><c>{"conversations": [{"from": "human" | "gpt" | "system", "value": …}]}</c> (Vicuna, ShareGPT dumps).</summary>
    ShareGpt,
    /// <summary><c>{"messages": [{"role": "user" | "assistant" | "system", "content": …}]}</c> (OpenAI fine-tuning files).</summary>
    Messages,
    /// <summary><c>{"instruction", "input", "output"}</c> (Stanford Alpaca).</summary>
    Alpaca,
}
