using TextClassification.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TextClassification.Training.Checkpoints;

/// <summary>Moves a module's weights to and from the safetensors bytes that checkpoints hold.</summary>
public static class ModelWeights
{
    /// <summary>The module's state dict (parameters and buffers, by their documented names), as safetensors bytes.</summary>
    public static byte[] Save(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return SafeTensors.ToBytes(module.state_dict().Select(pair => (pair.Key, pair.Value)));
    }

    /// <summary>Copies saved weights into the module; every name and shape must match.</summary>
    /// <exception cref="InvalidDataException">The weights belong to a differently shaped module.</exception>
    public static void Load(nn.Module module, byte[] weights)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(weights);
        var saved = SafeTensors.FromBytes(weights);
        try
        {
            CopyInto(module, saved);
        }
        finally
        {
            DisposeAll(saved);
        }
    }

    /// <summary>
    /// Loads a base model's weights into a module made for a different label set: every tensor but the classifier
    /// head is copied as is; the head keeps the rows of labels both sets share (matched by name) and the module's
    /// fresh initialisation for new labels.
    /// </summary>
    public static void LoadForLabels(TextClassifierModule module, byte[] weights, IReadOnlyList<string> savedLabels, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(savedLabels);
        ArgumentNullException.ThrowIfNull(labels);
        var saved = SafeTensors.FromBytes(weights);
        try
        {
            var state = module.state_dict();
            foreach (string name in new[] { TextClassifierModule.ClassifierWeight, TextClassifierModule.ClassifierBias })
            {
                if (!saved.TryGetValue(name, out var savedHead) || !state.TryGetValue(name, out var freshHead))
                {
                    throw new InvalidDataException($"The base model has no {name}.");
                }

                if (savedHead.shape[0] != savedLabels.Count || !savedHead.shape.Skip(1).SequenceEqual(freshHead.shape.Skip(1)))
                {
                    throw new InvalidDataException($"The base model's {name} has shape [{string.Join(", ", savedHead.shape)}], which does not fit its {savedLabels.Count} labels or this model.");
                }

                // Start from the fresh head, then bring over the rows of labels the base model knew.
                var head = freshHead.detach().cpu().clone();
                var savedRows = savedLabels.Select((label, row) => (label, row)).ToDictionary(p => p.label, p => p.row, StringComparer.Ordinal);
                for (int row = 0; row < labels.Count; row++)
                {
                    if (savedRows.TryGetValue(labels[row], out int savedRow))
                    {
                        using var target = head[row];
                        using var source = savedHead[savedRow];
                        target.copy_(source);
                    }
                }

                saved[name] = head;
                savedHead.Dispose();
            }

            CopyInto(module, saved);
        }
        finally
        {
            DisposeAll(saved);
        }
    }

    private static void CopyInto(nn.Module module, Dictionary<string, Tensor> saved)
    {
        var state = module.state_dict();
        var missing = state.Keys.Except(saved.Keys).ToList();
        var unexpected = saved.Keys.Except(state.Keys).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            throw new InvalidDataException(
                $"The weights do not fit this model: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}].");
        }

        using (no_grad())
        {
            foreach (var (name, target) in state)
            {
                var source = saved[name];
                if (!source.shape.SequenceEqual(target.shape) || source.dtype != target.dtype)
                {
                    throw new InvalidDataException(
                        $"Weight {name} is {source.dtype}[{string.Join(", ", source.shape)}]; the model has {target.dtype}[{string.Join(", ", target.shape)}].");
                }

                target.copy_(source);
            }
        }
    }

    private static void DisposeAll(Dictionary<string, Tensor> tensors)
    {
        foreach (var tensor in tensors.Values)
        {
            tensor.Dispose();
        }
    }
}
