using System.Numerics.Tensors;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.BaseModels;
using TextClassification.Training.Data;
using TextClassification.Training.Export;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;
using TextClassification.Training.Tests.Loop;

namespace TextClassification.Training.Tests.Models;

public sealed class PretrainedWordVectorsTests
{
    [Fact]
    public void Only_lower_case_whole_words_get_a_vector_centred_on_their_mean_and_of_unit_length()
    {
        string[] vocabulary = ["[PAD]", "[UNK]", "##ing", "refund", "a", "42", "Cash", "cash", "loan"];
        var embeddings = new float[vocabulary.Length * 2];
        void Set(int token, float x, float y) => (embeddings[token * 2], embeddings[(token * 2) + 1]) = (x, y);
        Set(0, 9, 9);
        Set(2, 9, 9);
        Set(3, 4, 1); // refund
        Set(7, 1, 4); // cash
        Set(8, 1, 1); // loan: the three words' mean is (2, 2)

        var vectors = PretrainedWordVectors.Create("test", vocabulary, embeddings, width: 2);
        var tokenizer = new TokenizerDefinition(new TokenizerSettings(), ["cash", "unknown", "refund", "loan"]);
        float[] rows = vectors.RowsFor(tokenizer);

        Assert.Equal(["refund", "cash", "loan"], vectors.Words);
        Assert.Equal(2, vectors.Width);
        Assert.Equal((TextTokenizer.FirstWordId + 4) * 2, rows.Length);
        float s = 1 / MathF.Sqrt(5);
        // Padding, unknown and the word without a vector are zero; (1, 4) − (2, 2) and (4, 1) − (2, 2) normalised.
        float[] expected = [0, 0, 0, 0, -s, 2 * s, 0, 0, 2 * s, -s, -1 / MathF.Sqrt(2), -1 / MathF.Sqrt(2)];
        Assert.Equal(expected, rows, new FloatTolerance(1e-6f));
    }

    [Fact]
    public void A_table_that_does_not_fit_the_vocabulary_or_has_no_whole_word_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => PretrainedWordVectors.Create("test", ["refund", "cash"], new float[5], width: 2));
        Assert.Throws<InvalidDataException>(() => PretrainedWordVectors.Create("test", ["[PAD]", "##s"], new float[4], width: 2));
    }

    /// <summary>
    /// A classifier's vectors are its logits for each word alone, first centred over the labels (a shift common to
    /// every label means nothing to softmax), then on the words' mean, then normalised.
    /// </summary>
    [Fact]
    public void A_classifiers_vector_of_a_word_is_its_logits_centred_over_labels_then_over_words_and_normalised()
    {
        string[] words = ["refund", "cash", "loan"];
        // Each row is (a, b) plus a shift that differs per word: after the first centring the rows are
        // (1, -1), (-1, 1) and (2, -2), whose mean is (2/3, -2/3).
        float[] logits = [6, 4, 9, 11, -1, -5];

        var vectors = PretrainedWordVectors.FromClassifierLogits("support-intents:3", words, logits, labels: 2);
        float[] rows = vectors.RowsFor(new TokenizerDefinition(new TokenizerSettings(), ["refund", "cash", "loan"]));

        Assert.Equal("support-intents:3", vectors.Source);
        Assert.Equal(words, vectors.Words);
        Assert.Equal(2, vectors.Width);
        float s = 1 / MathF.Sqrt(2);
        // (1/3, -1/3), (-5/3, 5/3) and (4/3, -4/3) normalised: unchanged by the common shifts of the raw logits.
        float[] expected = [0, 0, 0, 0, s, -s, -s, s, s, -s];
        Assert.Equal(expected, rows, new FloatTolerance(1e-6f));
        Assert.Throws<InvalidDataException>(() => PretrainedWordVectors.FromClassifierLogits("m:1", words, new float[5], labels: 2));
        Assert.Throws<InvalidDataException>(() => PretrainedWordVectors.FromClassifierLogits("m:1", words, new float[3], labels: 1));
    }

    /// <summary>
    /// An encoder's vectors are its pooled output for each whole word alone, <c>[CLS] word [SEP]</c>, centred on the
    /// words' mean and normalised: checked against the module run by hand on a tiny random encoder.
    /// </summary>
    [Fact]
    public void An_encoders_vector_of_a_word_is_its_pooled_output_for_the_word_alone()
    {
        string[] vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "refund", "##s", "cash", "loan", "a"];
        var config = new BertConfig { VocabularySize = vocabulary.Length, HiddenSize = 8, Heads = 2, Layers = 1, IntermediateSize = 16, MaxPositions = 16 };
        var random = new Random(4);
        var tensors = EncoderWeights.ExpectedShapes(config).ToDictionary(
            pair => pair.Key,
            pair => new PretrainedTensor([.. Enumerable.Range(0, (int)pair.Value.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(random.NextDouble() - 0.5))], pair.Value));
        var encoder = new PretrainedEncoder("tiny", config, TokenizerDefinition.WordPiece(vocabulary, new TokenizerSettings { Kind = TokenizerKind.WordPiece }), new EncoderWeights(tensors));

        var vectors = PretrainedWordVectors.From(encoder);

        Assert.Equal(["refund", "cash", "loan"], vectors.Words);
        using var module = new BertClassifier(config with { LabelCount = 1 });
        encoder.Weights.LoadInto(module);
        module.eval();
        using var ids = TorchSharp.torch.tensor(new long[] { 2, 4, 3, 2, 6, 3, 2, 7, 3 }, [3, 3]);
        using var mask = TorchSharp.torch.ones(3, 3, TorchSharp.torch.ScalarType.Int64);
        using var pooled = module.Pool(ids, mask);
        float[] outputs = pooled.data<float>().ToArray();
        var mean = new float[8];
        for (int w = 0; w < 3; w++)
        {
            TensorPrimitives.Add(mean, outputs.AsSpan(w * 8, 8), mean);
        }

        TensorPrimitives.Divide(mean, 3, mean);
        float[] rows = vectors.RowsFor(new TokenizerDefinition(new TokenizerSettings(), ["loan", "refund", "cash"]));
        for (int w = 0; w < 3; w++)
        {
            var expected = new float[8];
            TensorPrimitives.Subtract(outputs.AsSpan(w * 8, 8), mean, expected);
            TensorPrimitives.Divide(expected, TensorPrimitives.Norm(expected), expected);
            int row = TextTokenizer.FirstWordId + (w == 0 ? 1 : w == 1 ? 2 : 0);
            Assert.Equal(expected, rows.AsSpan(row * 8, 8).ToArray(), new FloatTolerance(1e-5f));
        }
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => MathF.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}

/// <summary>Runs that train; they seed torch's process-wide generator, so they run alone.</summary>
[Collection(TorchCollection.Name)]
public sealed class WordVectorTrainingTests
{
    private static readonly string[] Fillers = ["please", "the", "my", "now", "today", "want"];

    /// <summary>
    /// The case the vectors exist for: the training texts say "refund" and "rain", the questions "reimbursement" and
    /// "drizzle", words the bag never saw, whose pretrained vectors lie next to the seen ones'. Words only (no
    /// character n-grams or pairs), so nothing but the vectors can tell the two questions apart.
    /// </summary>
    [Fact]
    public void A_word_the_training_texts_lack_is_understood_through_its_pretrained_neighbour_in_the_network_and_in_its_export()
    {
        var vectors = Vectors();
        var withVectors = Trainer.Train(Request(vectors));
        var without = Trainer.Train(Request(null));
        string[] questions = ["please reimbursement now", "now drizzle please"];

        using var trained = TrainedClassifier.Load(withVectors.Model);
        float[] probabilities = trained.Probabilities(questions);
        using var plain = TrainedClassifier.Load(without.Model);
        float[] plainProbabilities = plain.Probabilities(questions);

        // Labels are in ordinal order: refunds, weather.
        Assert.True(probabilities[0] > 0.8 && probabilities[3] > 0.8, $"refunds|reimbursement {probabilities[0]:F3}, weather|drizzle {probabilities[3]:F3}");
        // Without vectors both questions are fillers and an unknown word: the bag cannot tell them apart.
        Assert.Equal(plainProbabilities[0], plainProbabilities[2], 5);
        var config = Assert.IsType<NGramBagConfig>(withVectors.Model.ModelConfig);
        Assert.Equal((8, TextTokenizer.FirstWordId + withVectors.Model.Tokenizer.Vocabulary.Count), (config.WordVectorWidth, config.WordVectorRows));
        Assert.Contains("reimbursement", withVectors.Model.Tokenizer.Vocabulary);
        Assert.DoesNotContain("reimbursement", without.Model.Tokenizer.Vocabulary);

        // The export folds the vectors into one table: the graph is the plain bag's, and answers as the network does.
        byte[] onnx = ClassifierOnnxExporter.Export(withVectors.Model);
        var parity = ClassifierParity.Check(withVectors.Model, onnx, [.. questions, "rain refund my"]);
        Assert.True(parity.Passes(), parity.Describe());
        var model = TextClassification.Training.Export.Onnx.Proto.ModelProto.Parser.ParseFrom(onnx);
        Assert.DoesNotContain(model.Graph.Initializer, i => i.Name.StartsWith("word_", StringComparison.Ordinal));
        var table = Assert.Single(model.Graph.Initializer, i => i.Name == "embedding.weight");
        Assert.Equal([config.VocabularySize, config.EmbeddingDim], table.Dims);
    }

    [Fact]
    public void A_run_whose_hyperparameters_name_vectors_it_was_not_given_or_that_is_not_a_bag_is_refused()
    {
        var vectors = Vectors();

        var missing = Assert.Throws<TrainingRequestException>(() => Trainer.Train(Request(null) with { Hyperparameters = Request(null).Hyperparameters with { WordVectors = "test-vectors" } }));
        var other = Assert.Throws<TrainingRequestException>(() => Trainer.Train(Request(vectors) with { Hyperparameters = Request(vectors).Hyperparameters with { WordVectors = "other" } }));
        var transformer = Assert.Throws<TrainingRequestException>(() => Trainer.Train(Request(vectors) with
        {
            Architecture = ArchitectureRegistry.Transformer,
            Model = new TransformerConfig { ModelDim = 8, Heads = 2, Layers = 1, FeedForwardDim = 16 },
        }));

        Assert.Contains("word_vectors names test-vectors, but the run was given no vectors", missing.Message, StringComparison.Ordinal);
        Assert.Contains("given those of test-vectors", other.Message, StringComparison.Ordinal);
        Assert.Contains("word_vectors applies to an ngram-bag", transformer.Message, StringComparison.Ordinal);
    }

    /// <summary>Eight-wide vectors: refund and reimbursement along one axis, rain and drizzle along another, fillers elsewhere.</summary>
    private static PretrainedWordVectors Vectors()
    {
        string[] words = ["refund", "reimbursement", "rain", "drizzle", .. Fillers];
        var embeddings = new float[words.Length * 8];
        var random = new Random(5);
        for (int w = 0; w < words.Length; w++)
        {
            var row = embeddings.AsSpan(w * 8, 8);
            int axis = w < 2 ? 0 : w < 4 ? 1 : 2 + ((w - 4) % 6);
            row[axis] = 1;
            for (int d = 0; d < 8; d++)
            {
                row[d] += (float)(random.NextDouble() - 0.5) * 0.1f;
            }
        }

        Assert.True(TensorPrimitives.CosineSimilarity(embeddings.AsSpan(0, 8), embeddings.AsSpan(8, 8)) > 0.9);
        return PretrainedWordVectors.Create("test-vectors", words, embeddings, width: 8);
    }

    private static TrainingRequest Request(PretrainedWordVectors? vectors)
    {
        var random = new Random(3);
        var rows = new List<LabelledText>();
        foreach (var (label, word) in new[] { ("refunds", "refund"), ("weather", "rain") })
        {
            for (int i = 0; i < 30; i++)
            {
                var words = Enumerable.Range(0, 2).Select(_ => Fillers[random.Next(Fillers.Length)]).ToList();
                words.Insert(random.Next(words.Count + 1), word);
                rows.Add(new LabelledText(string.Join(' ', words), label));
            }
        }

        return new TrainingRequest
        {
            Architecture = ArchitectureRegistry.NGramBag,
            Hyperparameters = TinyData.Hyperparameters with { Epochs = 8, LabelSmoothing = 0, WordVectors = vectors?.Source },
            Train = rows,
            Tokenizer = new TokenizerSettings { MaxSequenceLength = 16 },
            Model = new NGramBagConfig { EmbeddingDim = 8 },
            WordVectors = vectors,
        };
    }
}
