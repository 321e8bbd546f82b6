using TextClassification.Training.Checkpoints;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;
using static TorchSharp.torch;

namespace TextClassification.Training.Tests.Loop;

[Collection(TorchCollection.Name)]
public sealed class TransferTests
{
    [Fact]
    public void A_new_label_set_keeps_the_head_rows_of_shared_labels_and_fresh_rows_for_new_ones()
    {
        var baseModel = Trainer.Train(TinyData.Request()).Model;
        var config = baseModel.ModelConfig with { LabelCount = 3 };
        string[] labels = ["music", "travel", "weather"];
        manual_seed(1);
        using var module = ArchitectureRegistry.Get(baseModel.Architecture).Create(config);
        using var fresh = module.state_dict()[TextClassifierModule.ClassifierWeight].clone();

        ModelWeights.LoadForLabels(module, baseModel.Weights, baseModel.Labels, labels);

        var saved = SafeTensors.FromBytes(baseModel.Weights);
        try
        {
            var head = module.state_dict()[TextClassifierModule.ClassifierWeight];
            var bias = module.state_dict()[TextClassifierModule.ClassifierBias];
            // base labels: banking 0, music 1, weather 2
            var savedHead = saved[TextClassifierModule.ClassifierWeight];
            Assert.Equal(Values(savedHead[1]), Values(head[0]));
            Assert.Equal(Values(savedHead[2]), Values(head[2]));
            Assert.Equal(Values(fresh[1]), Values(head[1]));
            Assert.NotEqual(Values(savedHead[0]), Values(head[1]));
            Assert.Equal(saved[TextClassifierModule.ClassifierBias][2].item<float>(), bias[2].item<float>());
            Assert.Equal(Values(saved["embedding.weight"]), Values(module.state_dict()["embedding.weight"]));
        }
        finally
        {
            foreach (var tensor in saved.Values)
            {
                tensor.Dispose();
            }
        }
    }

    [Fact]
    public void Training_from_a_base_model_reuses_its_tokenizer_and_learns_a_new_label()
    {
        var baseModel = Trainer.Train(TinyData.Request()).Model;
        var request = TinyData.Request(ArchitectureRegistry.NGramBag, "banking", "music", "travel", "weather") with { BaseModel = baseModel };

        var result = Trainer.Train(request);

        Assert.Equal(baseModel.Tokenizer.Vocabulary, result.Model.Tokenizer.Vocabulary);
        Assert.Equal(baseModel.ModelConfig with { LabelCount = 4 }, result.Model.ModelConfig);
        Assert.Equal(["banking", "music", "travel", "weather"], result.Model.Labels);
        var travel = result.Evaluation!.PerClass.Single(c => c.Label == "travel");
        Assert.True(travel.Recall >= 0.8, $"recall of the new label {travel.Recall}");
        Assert.True(result.Evaluation.Accuracy >= 0.9, $"accuracy {result.Evaluation.Accuracy}");
    }

    private static float[] Values(Tensor tensor) => tensor.data<float>().ToArray();

    [Fact]
    public void A_base_model_of_another_architecture_is_refused()
    {
        var baseModel = Trainer.Train(TinyData.Request()).Model;

        Assert.Throws<TrainingRequestException>(() => Trainer.Train(TinyData.Request(ArchitectureRegistry.Transformer) with { BaseModel = baseModel }));
    }
}
