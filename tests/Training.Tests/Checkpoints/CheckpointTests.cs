using System.IO.Compression;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Loop;
using TextClassification.Training.Tests.Loop;
using static TorchSharp.torch;

namespace TextClassification.Training.Tests.Checkpoints;

[Collection(TorchCollection.Name)]
public sealed class CheckpointTests
{
    [Fact]
    public void A_checkpoint_survives_a_stream_round_trip_field_by_field()
    {
        var observer = new RecordingObserver();
        Trainer.Train(TinyData.Request() with { Hyperparameters = TinyData.Hyperparameters with { Epochs = 2, LearningRate = 0.3 } }, observer);
        var checkpoint = observer.Checkpoints[^1];

        var read = RoundTrip(checkpoint);

        Assert.Equal(checkpoint with { History = read.History, Weights = read.Weights, BestWeights = read.BestWeights, OptimizerState = read.OptimizerState, Labels = read.Labels }, read);
        Assert.Equal(checkpoint.History, read.History);
        Assert.Equal(checkpoint.Labels, read.Labels);
        Assert.Equal(checkpoint.Weights, read.Weights);
        Assert.Equal(checkpoint.BestWeights, read.BestWeights);
        Assert.Equal(checkpoint.OptimizerState, read.OptimizerState);
    }

    [Fact]
    public void The_same_checkpoint_always_serialises_to_the_same_bytes()
    {
        var observer = new RecordingObserver();
        Trainer.Train(TinyData.Request() with { Hyperparameters = TinyData.Hyperparameters with { Epochs = 1 } }, observer);

        Assert.Equal(Bytes(observer.Checkpoints[0]), Bytes(RoundTrip(observer.Checkpoints[0])));
    }

    [Fact]
    public void The_archive_holds_readable_json_a_tokenizer_and_safetensors_weights()
    {
        var observer = new RecordingObserver();
        Trainer.Train(TinyData.Request() with { Hyperparameters = TinyData.Hyperparameters with { Epochs = 1 } }, observer);

        using var archive = new ZipArchive(new MemoryStream(Bytes(observer.Checkpoints[0])));

        Assert.Equal(["checkpoint.json", "tokenizer.json", "model.safetensors", "optimizer.bin"], archive.Entries.Select(e => e.FullName));
        using var manifest = new StreamReader(archive.GetEntry("checkpoint.json")!.Open());
        string json = manifest.ReadToEnd();
        Assert.Contains("\"architecture\":\"ngram-bag\"", json);
        Assert.Contains("\"epochs_completed\":1", json);
        Assert.Contains("\"batch_size\":16", json);
    }

    [Fact]
    public void Safetensors_round_trip_names_shapes_and_values()
    {
        using var weights = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var counts = tensor(new long[] { 7, -1 });

        byte[] bytes = SafeTensors.ToBytes([("w", weights), ("n", counts)]);
        var read = SafeTensors.FromBytes(bytes);

        Assert.Equal(["w", "n"], read.Keys);
        Assert.Equal([2L, 3L], read["w"].shape);
        Assert.Equal([0f, 1f, 2f, 3f, 4f, 5f], read["w"].data<float>().ToArray());
        Assert.Equal([7L, -1L], read["n"].data<long>().ToArray());
        Assert.Equal(0, (8 + (int)BitConverter.ToUInt64(bytes, 0)) % 8);
        foreach (var tensor in read.Values)
        {
            tensor.Dispose();
        }
    }

    [Fact]
    public void Damaged_checkpoints_are_invalid_data()
    {
        var observer = new RecordingObserver();
        Trainer.Train(TinyData.Request() with { Hyperparameters = TinyData.Hyperparameters with { Epochs = 1 } }, observer);
        byte[] bytes = Bytes(observer.Checkpoints[0]);

        Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.ReadFrom(new MemoryStream(bytes[..(bytes.Length / 2)])));
        Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.ReadFrom(new MemoryStream([1, 2, 3])));
        Assert.Throws<InvalidDataException>(() => SafeTensors.FromBytes(new byte[] { 255, 0, 0, 0, 0, 0, 0, 0, 1 }));
    }

    private static byte[] Bytes(TrainingCheckpoint checkpoint)
    {
        using var stream = new MemoryStream();
        checkpoint.WriteTo(stream);
        return stream.ToArray();
    }

    private static TrainingCheckpoint RoundTrip(TrainingCheckpoint checkpoint)
    {
        using var stream = new MemoryStream(Bytes(checkpoint));
        return TrainingCheckpoint.ReadFrom(stream);
    }
}
