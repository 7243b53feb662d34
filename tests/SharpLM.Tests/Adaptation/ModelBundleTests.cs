using SharpLM.Adaptation;
using SharpLM.Adaptation.Formatting;
using SharpLM.Adaptation.InstructionTuning;
using SharpLM.Adaptation.Peft.Lora;
using SharpLM.Modeling;
using SharpLM.Tokenization;
using SharpLM.Training;
using static TorchSharp.torch;
using SharpLM.Checkpoints;

namespace SharpLM.Tests.Adaptation;

public class ModelBundleTests
{
    static readonly string Ascii = "\n" + new string(Enumerable.Range(32, 95).Select(c => (char)c).ToArray());

    static ModelConfig Llama(int vocab) => new()
    {
        VocabSize = vocab, BlockSize = 128, NLayer = 2, NHead = 4, NKvHead = 2, NEmbd = 32, Norm = "rmsnorm", Activation = "swiglu",
        PositionEncoding = "rope", Bias = false, TieEmbeddings = false, InitStd = 0.1,
    };

    static string SaveRun(string dir, Gpt model, ITokenizer tokenizer, ChatTemplate? template)
    {
        Directory.CreateDirectory(dir);
        Checkpoint.Save(dir, model, null, new CheckpointManifest { Step = 0, Model = model.Config, ModelFile = "", ModelSha256 = "" });
        tokenizer.Save(dir);
        template?.Save(dir);
        return dir;
    }

    static float[] Logits(ModelBundle bundle, int[] ids)
    {
        using var _ = no_grad();
        return bundle.Model.forward(tensor(ids.Select(i => (long)i).ToArray()).reshape(1, ids.Length)).flatten().data<float>().ToArray();
    }

    static readonly Turn[] Conversation = [Turn.User("What is 2+2?"), Turn.Assistant("4."), Turn.User("And 3+3?")];

    [Fact]
    public void A_model_converts_between_sharplm_hugging_face_and_gguf_keeping_logits_tokens_and_chat_template()
    {
        using var dir = new TempDirectory();
        manual_seed(3);
        var tokenizer = CharTokenizer.FromText(Ascii).WithSpecialTokens(SpecialTokens.ChatMl);
        var template = new ChatTemplate { DefaultSystemMessage = "Be brief, it's 'quoted'.\nSecond line." };
        var first = ModelBundle.Load(SaveRun(dir.File("run"), new Gpt(Llama(tokenizer.VocabSize)), tokenizer, template));
        string chat = first.ChatTemplate.Render(Conversation, addGenerationPrompt: true).Text;
        int[] ids = first.Tokenizer.Encode(chat);
        float[] expected = Logits(first, ids);

        first.Save(ModelLocation.ParseDestination("hf:" + dir.File("hf")));
        var hf = ModelBundle.Load("hf:" + dir.File("hf"));
        hf.Save(ModelLocation.ParseDestination("gguf:" + dir.File("m.gguf")));
        var gguf = ModelBundle.Load(dir.File("m.gguf")); // a bare path is recognised by its contents
        gguf.Save(ModelLocation.ParseDestination("sharplm:" + dir.File("back")));
        var back = ModelBundle.Load(dir.File("back"));

        foreach (var (name, bundle) in new[] { ("hf", hf), ("gguf", gguf), ("back", back) })
        {
            Assert.Equal(ids, bundle.Tokenizer.Encode(chat));
            Assert.Equal(expected, Logits(bundle, ids));
            // The template arrives as Jinja (transformers' and llama.cpp's form) and renders the same text and mask.
            Assert.NotNull(bundle.Template);
            Assert.Equal(chat, bundle.ChatTemplate.Render(Conversation, addGenerationPrompt: true).Text);
            Assert.Equal(first.ChatTemplate.Render(Conversation).AssistantTexts, bundle.ChatTemplate.Render(Conversation).AssistantTexts);
            Assert.Equal(SpecialTokens.ImEnd, bundle.ChatTemplate.EndOfTurn);
        }
        Assert.Equal(ModelFormat.HuggingFace, hf.Location.Format);
        Assert.Equal(ModelFormat.Gguf, gguf.Location.Format);
    }

    [Fact]
    public void A_location_that_is_no_model_or_a_tokenizer_larger_than_the_model_is_refused_naming_the_path()
    {
        using var dir = new TempDirectory();
        Assert.Contains("is not a SharpLM run directory", Assert.Throws<InvalidInputException>(() => ModelBundle.Load(dir.Path)).Message);
        Assert.Contains("name the format", Assert.Throws<InvalidInputException>(() => ModelLocation.ParseDestination(dir.Path)).Message);
        var tokenizer = CharTokenizer.FromText(Ascii);
        var run = SaveRun(dir.File("run"), new Gpt(Llama(tokenizer.VocabSize)), tokenizer, null);
        ModelBundle.Load(run).Save(ModelLocation.ParseDestination("hf:" + dir.File("hf")));
        CharTokenizer.FromText(Ascii + "éèà").Save(dir.File("hf"));
        Assert.Contains("the tokenizer has 99 tokens but the model only 96 embedding rows", Assert.Throws<InvalidInputException>(() => ModelBundle.Load("hf:" + dir.File("hf"))).Message);
    }

    [Fact]
    public void Lora_sft_on_a_hugging_face_folder_masks_and_trains_through_the_models_own_jinja_template()
    {
        using var dir = new TempDirectory();
        manual_seed(4);
        string[] llama3 = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];
        var tokenizer = CharTokenizer.FromText(Ascii).WithSpecialTokens(llama3);
        var run = SaveRun(dir.File("run"), new Gpt(Llama(tokenizer.VocabSize)), tokenizer, null);
        string hf = dir.File("hf");
        ModelBundle.Load(run).Save(ModelLocation.ParseDestination("hf:" + hf));
        File.Copy(TestData.Fixture(Path.Combine("templates", "llama3", "tokenizer_config.json")), Path.Combine(hf, "tokenizer_config.json"), overwrite: true);

        var bundle = ModelBundle.Load("hf:" + hf);
        Assert.Equal("<|eot_id|>", bundle.ChatTemplate.EndOfTurn);
        // The loss mask covers each reply and the token that ends its turn, nothing of the headers.
        var chat = bundle.ChatTemplate.Tokenize(bundle.Tokenizer, [Turn.User("hi"), Turn.Assistant("hello there")]);
        Assert.Equal("hello there<|eot_id|>", bundle.Tokenizer.Decode(chat.Ids.Where((_, i) => chat.Trained[i]).ToArray()));
        Assert.StartsWith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>", bundle.Tokenizer.Decode(chat.Ids));

        var summary = SftRun.Run(new SftRunOptions
        {
            Base = "hf:" + hf, Data = "synthetic:3", Format = "tasks", Method = "lora", EvalLimit = 4,
            Suite = new SyntheticSuiteOptions { Seed = 3, TrainPerTask = 8, TestPerTask = 2 },
            // PEFT's usual targets for Llama: q_proj and v_proj (the q and v rows of SharpLM's fused projection), and the MLP.
            Lora = new LoraOptions { Rank = 4, TargetModules = ["attn.q", "attn.v", "mlp.c_fc"] },
            Training = new SftOptions { MaxIters = 4, BatchSize = 4, EvalInterval = 2, Threads = 1 },
        }, dir.File("lora"));
        Assert.True(summary.Training.TrainableParameters > 0 && summary.Training.TrainableParameters < summary.Training.TotalParameters / 5);
        // The adapter carries the template it was trained with; loading it over the folder brings it back.
        var adapted = ModelBundle.Load("hf:" + hf, adapter: dir.File("lora"));
        Assert.IsType<LoraTuning>(adapted.Adapter);
        Assert.Equal("<|eot_id|>", adapted.ChatTemplate.EndOfTurn);
        Assert.NotNull(adapted.ChatTemplate.Jinja);

        // In PEFT's layout the adapter loads back to identical logits, and merging it changes them by at most 1e-5.
        var lora = (LoraTuning)adapted.Adapter!;
        HfPeftLora.Save(lora, dir.File("peft"), "hf:" + hf);
        Assert.True(HfPeftLora.IsPeftFolder(dir.File("peft")));
        var fromPeft = ModelBundle.Load("hf:" + hf, adapter: dir.File("peft"));
        int[] ids = adapted.Tokenizer.Encode(adapted.ChatTemplate.Render([Turn.User("add 2 and 3")], addGenerationPrompt: true).Text);
        float[] withAdapter = Logits(adapted, ids);
        Assert.Equal(withAdapter, Logits(fromPeft, ids));
        using var merged = lora.ExportMerged();
        merged.eval();
        using var _ = no_grad();
        float[] mergedLogits = merged.forward(tensor(ids.Select(i => (long)i).ToArray()).reshape(1, ids.Length)).flatten().data<float>().ToArray();
        Assert.True(withAdapter.Zip(mergedLogits, (a, b) => Math.Abs(a - b)).Max() <= 1e-5);
        // The adapter changed the model: B was trained away from zero.
        Assert.True(withAdapter.Zip(Logits(ModelBundle.Load("hf:" + hf), ids), (a, b) => Math.Abs(a - b)).Max() > 1e-4);
    }
}
