using System.Buffers;
using System.Text;

namespace TextClassification.Training.Data;

/// <summary>
/// Writes accepted rows as UTF-8 JSON Lines, <c>{"text":"…","label":"…"}</c>, batching them before they reach the
/// output stream.
/// </summary>
/// <remarks>
/// Strings are escaped by hand rather than with <c>Utf8JsonWriter</c>: every built-in encoder, the relaxed one included,
/// escapes characters outside the Basic Multilingual Plane (emoji) and U+2028/U+2029 as <c>\uXXXX</c>, and the stored
/// file is meant to keep the text verbatim. Only what JSON requires is escaped: the quote, the backslash and the
/// control characters U+0000–U+001F. The input strings are valid UTF-16 (they come from valid UTF-8 or from a JSON
/// reader that refuses unpaired surrogates), so the UTF-8 encoding is exact.
/// </remarks>
internal sealed class NormalizedRowWriter : IDisposable
{
    private const int FlushThreshold = 64 * 1024;
    private static readonly SearchValues<char> MustEscape = SearchValues.Create(
        "\"\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000B\f\r\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F");

    private readonly Stream _output;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(FlushThreshold * 2);
    private int _length;

    public NormalizedRowWriter(Stream output) => _output = output;

    /// <summary>Appends one row's line and returns its bytes (the LF included) until the next call.</summary>
    public ReadOnlySpan<byte> Append(string text, string label)
    {
        // Worst case per UTF-16 unit: six bytes for \u00XX; UTF-8 never needs more than three.
        int worst = ((text.Length + label.Length) * 6) + 32;
        EnsureCapacity(worst);
        int start = _length;
        var destination = _buffer.AsSpan();
        int at = _length;
        at += Copy("{\"text\":"u8, destination[at..]);
        at += WriteString(text, destination[at..]);
        at += Copy(",\"label\":"u8, destination[at..]);
        at += WriteString(label, destination[at..]);
        at += Copy("}\n"u8, destination[at..]);
        _length = at;
        return _buffer.AsSpan(start, at - start);
    }

    /// <summary>Takes back the line just appended (a duplicate).</summary>
    public void RemoveLast(int lineLength) => _length -= lineLength;

    public ValueTask FlushIfFullAsync(CancellationToken cancellationToken) =>
        _length >= FlushThreshold ? FlushAsync(cancellationToken) : ValueTask.CompletedTask;

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_length > 0)
        {
            await _output.WriteAsync(_buffer.AsMemory(0, _length), cancellationToken);
            _length = 0;
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private static int Copy(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        bytes.CopyTo(destination);
        return bytes.Length;
    }

    private static int WriteString(ReadOnlySpan<char> value, Span<byte> destination)
    {
        int at = 0;
        destination[at++] = (byte)'"';
        while (true)
        {
            int special = value.IndexOfAny(MustEscape);
            var plain = special < 0 ? value : value[..special];
            at += Encoding.UTF8.GetBytes(plain, destination[at..]);
            if (special < 0)
            {
                break;
            }

            char c = value[special];
            destination[at++] = (byte)'\\';
            switch (c)
            {
                case '"':
                    destination[at++] = (byte)'"';
                    break;
                case '\\':
                    destination[at++] = (byte)'\\';
                    break;
                case '\n':
                    destination[at++] = (byte)'n';
                    break;
                case '\r':
                    destination[at++] = (byte)'r';
                    break;
                case '\t':
                    destination[at++] = (byte)'t';
                    break;
                case '\b':
                    destination[at++] = (byte)'b';
                    break;
                case '\f':
                    destination[at++] = (byte)'f';
                    break;
                default:
                    destination[at++] = (byte)'u';
                    destination[at++] = (byte)'0';
                    destination[at++] = (byte)'0';
                    destination[at++] = (byte)"0123456789abcdef"[c >> 4];
                    destination[at++] = (byte)"0123456789abcdef"[c & 0xF];
                    break;
            }

            value = value[(special + 1)..];
        }

        destination[at++] = (byte)'"';
        return at;
    }

    private void EnsureCapacity(int needed)
    {
        if (_buffer.Length - _length >= needed)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + needed));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
