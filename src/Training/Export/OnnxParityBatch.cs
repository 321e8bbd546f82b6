namespace TextClassification.Training.Export;

/// <summary>
/// One batch of token ids and its attention mask, both <c>[batch, sequence]</c>. The mask is 1 on real tokens and
/// 0 on padding, and padding only ever follows the real tokens of a row (right padding, as the tokenizer pads).
/// </summary>
public sealed class OnnxParityBatch
{
    public OnnxParityBatch(long[,] inputIds, long[,] attentionMask)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        if (inputIds.GetLength(0) != attentionMask.GetLength(0) || inputIds.GetLength(1) != attentionMask.GetLength(1))
        {
            throw new ArgumentException(
                $"input_ids is [{inputIds.GetLength(0)}, {inputIds.GetLength(1)}] but attention_mask is [{attentionMask.GetLength(0)}, {attentionMask.GetLength(1)}].",
                nameof(attentionMask));
        }

        if (inputIds.Length == 0)
        {
            throw new ArgumentException("A batch needs at least one row and one position.", nameof(inputIds));
        }

        for (int row = 0; row < attentionMask.GetLength(0); row++)
        {
            int length = 0;
            for (int position = 0; position < attentionMask.GetLength(1); position++)
            {
                long value = attentionMask[row, position];
                if (value is not (0 or 1) || (value == 1 && length != position))
                {
                    throw new ArgumentException(
                        $"Attention mask row {row} must be ones followed by zeros; position {position} is {value}.", nameof(attentionMask));
                }

                length += (int)value;
            }

            if (length == 0)
            {
                throw new ArgumentException($"Row {row} of the attention mask has no real token.", nameof(attentionMask));
            }

            if (length < attentionMask.GetLength(1))
            {
                PaddedRows++;
            }
        }

        InputIds = inputIds;
        AttentionMask = attentionMask;
    }

    public long[,] InputIds { get; }

    public long[,] AttentionMask { get; }

    public int BatchSize => InputIds.GetLength(0);

    public int SequenceLength => InputIds.GetLength(1);

    /// <summary>How many rows end in padding.</summary>
    public int PaddedRows { get; }

    /// <summary>Right-pads token id rows of different lengths with <paramref name="padTokenId"/> into one batch.</summary>
    public static OnnxParityBatch FromRows(IReadOnlyList<IReadOnlyList<long>> rows, long padTokenId)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one row.", nameof(rows));
        }

        int sequence = rows.Max(r => r.Count);
        var ids = new long[rows.Count, sequence];
        var mask = new long[rows.Count, sequence];
        for (int row = 0; row < rows.Count; row++)
        {
            for (int position = 0; position < sequence; position++)
            {
                bool real = position < rows[row].Count;
                ids[row, position] = real ? rows[row][position] : padTokenId;
                mask[row, position] = real ? 1 : 0;
            }
        }

        return new OnnxParityBatch(ids, mask);
    }

    /// <summary>
    /// The batches an export is checked on when no real text is at hand: three batches of different batch and
    /// sequence sizes, run through one session to prove both axes dynamic — four rows with three padded (down to a
    /// single real token), a batch of one, and three longer rows with one padded. Token ids are drawn from
    /// <c>[0, vocabSize)</c> without <paramref name="padTokenId"/>; the same arguments give the same batches.
    /// </summary>
    /// <param name="vocabSize">The model's vocabulary size; at least 2.</param>
    /// <param name="maxSequenceLength">The longest sequence the model accepts (its position table); at least 2.</param>
    /// <param name="padTokenId">The id padding uses.</param>
    /// <param name="seed">Seeds the token ids.</param>
    public static IReadOnlyList<OnnxParityBatch> Standard(int vocabSize, int maxSequenceLength, long padTokenId = 0, int seed = 17)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 2);
        var random = new Random(seed);
        int medium = Math.Min(9, maxSequenceLength);
        int shortLength = Math.Min(5, maxSequenceLength);
        int longLength = Math.Min(16, maxSequenceLength);
        return
        [
            FromRows([Row(medium), Row(Math.Max(1, medium - 3)), Row(Math.Max(1, medium / 3)), Row(1)], padTokenId),
            FromRows([Row(shortLength)], padTokenId),
            FromRows([Row(longLength), Row(Math.Max(1, longLength - 5)), Row(longLength)], padTokenId),
        ];

        long[] Row(int length) =>
            Enumerable.Range(0, length).Select(_ =>
            {
                long id;
                do
                {
                    id = random.NextInt64(vocabSize);
                }
                while (id == padTokenId);

                return id;
            }).ToArray();
    }
}
