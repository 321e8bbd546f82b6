using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// A row-major <c>[rows, columns]</c> matrix of floats as an artifact: its shape (two little-endian 32-bit integers),
/// then the floats, little-endian. Computed model outputs are kept this way (a teacher's logits over a dataset, a base
/// model's outputs over its words); the shape in the file is checked against the shape its database row records.
/// </summary>
public static class FloatMatrixFile
{
    private const int HeaderBytes = 8;

    /// <summary>Writes the matrix to <paramref name="write"/>; the caller commits it.</summary>
    public static async Task WriteAsync(Stream write, float[] values, int rows, int columns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != (long)rows * columns)
        {
            throw new ArgumentException($"{values.Length} values are not a {rows} × {columns} matrix.", nameof(values));
        }

        var header = new byte[HeaderBytes];
        BinaryPrimitives.WriteInt32LittleEndian(header, rows);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), columns);
        await write.WriteAsync(header, cancellationToken);
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            var words = MemoryMarshal.Cast<byte, int>(bytes.AsSpan());
            BinaryPrimitives.ReverseEndianness(words, words);
        }

        await write.WriteAsync(bytes, cancellationToken);
    }

    /// <summary>Reads a matrix of the shape its row records.</summary>
    /// <exception cref="InvalidDataException">The file holds another shape.</exception>
    public static async Task<float[]> ReadAsync(Stream stream, int rows, int columns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = new byte[HeaderBytes];
        await stream.ReadExactlyAsync(header, cancellationToken);
        if (BinaryPrimitives.ReadInt32LittleEndian(header) != rows || BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4)) != columns)
        {
            throw new InvalidDataException($"The stored matrix is not the {rows} × {columns} its record says.");
        }

        var bytes = new byte[checked(rows * columns * sizeof(float))];
        await stream.ReadExactlyAsync(bytes, cancellationToken);
        if (!BitConverter.IsLittleEndian)
        {
            var words = MemoryMarshal.Cast<byte, int>(bytes.AsSpan());
            BinaryPrimitives.ReverseEndianness(words, words);
        }

        return MemoryMarshal.Cast<byte, float>(bytes.AsSpan()).ToArray();
    }
}
