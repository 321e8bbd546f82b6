using System.Buffers;

namespace TextClassification.Training.Data;

/// <summary>
/// The bytes of one captured field, collected across buffer refills. It stops growing at its cap and remembers that it
/// overflowed, so a pathological field (a runaway quote, a megabyte of text) costs a bounded amount of memory.
/// </summary>
internal sealed class FieldBuffer : IDisposable
{
    private byte[] _bytes = [];
    private int _length;

    public FieldBuffer(int cap) => Cap = cap;

    public int Cap { get; set; }

    public bool Overflowed { get; private set; }

    public ReadOnlySpan<byte> Span => _bytes.AsSpan(0, _length);

    public void Clear()
    {
        _length = 0;
        Overflowed = false;
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (Overflowed || bytes.IsEmpty)
        {
            return;
        }

        if (_length + (long)bytes.Length > Cap)
        {
            Overflowed = true;
            return;
        }

        if (_length + bytes.Length > _bytes.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_length + bytes.Length, Math.Max(256, _bytes.Length * 2)));
            _bytes.AsSpan(0, _length).CopyTo(larger);
            ReturnBytes();
            _bytes = larger;
        }

        bytes.CopyTo(_bytes.AsSpan(_length));
        _length += bytes.Length;
    }

    public void Dispose()
    {
        ReturnBytes();
        _bytes = [];
        _length = 0;
    }

    private void ReturnBytes()
    {
        if (_bytes.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_bytes);
        }
    }
}
