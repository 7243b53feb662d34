Console.WriteLine(SharpLM.Placeholder.Sum());
