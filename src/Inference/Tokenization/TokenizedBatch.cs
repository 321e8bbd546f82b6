namespace TextClassification.Inference.Tokenization;

/// <summary>
/// A padded batch of encoded texts, row-major <c>[Count, SequenceLength]</c>, ready to become the <c>input_ids</c>
/// and <c>attention_mask</c> tensors (int64). Its buffers grow as needed and are reused by
/// <see cref="TextTokenizer.EncodeBatch"/>; not safe to share between threads while being refilled.
/// </summary>
public sealed class TokenizedBatch
{
    private long[] ids = [];
    private long[] mask = [];
    private int[] lengths = [];

    public int Count { get; private set; }

    /// <summary>The longest row's length (at least 1 when <see cref="Count"/> is positive).</summary>
    public int SequenceLength { get; private set; }

    public Memory<long> InputIds => ids.AsMemory(0, Count * SequenceLength);

    public Memory<long> AttentionMask => mask.AsMemory(0, Count * SequenceLength);

    /// <summary>Real (unpadded) length of each row.</summary>
    public ReadOnlySpan<int> RowLengths => lengths.AsSpan(0, Count);

    internal int[] Lengths => lengths;

    internal long[] Reserve(int rows, int stride)
    {
        int size = checked(rows * stride);
        if (ids.Length < size)
        {
            ids = new long[size];
            mask = new long[size];
        }

        if (lengths.Length < rows)
        {
            lengths = new int[rows];
        }

        return ids;
    }

    internal void Complete(int rows, int sequenceLength)
    {
        Count = rows;
        SequenceLength = sequenceLength;
        for (int row = 0; row < rows; row++)
        {
            var line = mask.AsSpan(row * sequenceLength, sequenceLength);
            line[..lengths[row]].Fill(1);
            line[lengths[row]..].Clear();
        }
    }
}
