namespace TextClassification.Training.Data;

/// <summary>
/// Splits UTF-8 bytes into physical lines at LF, numbering them from 1. A line longer than the cap is not buffered: it
/// is reported once with <see cref="IsTooLong"/> and its bytes are skipped, so one huge line cannot exhaust memory.
/// </summary>
internal sealed class LineReader
{
    private readonly InputBuffer _input;
    private readonly int _maxLineBytes;
    private int _lineLength;
    private int _pendingAdvance;
    private long _nextLine = 1;

    public LineReader(InputBuffer input, int maxLineBytes)
    {
        _input = input;
        _maxLineBytes = maxLineBytes;
    }

    /// <summary>The 1-based number of the last line read.</summary>
    public long LineNumber { get; private set; }

    /// <summary>The last line was longer than the cap; <see cref="Line"/> is empty then.</summary>
    public bool IsTooLong { get; private set; }

    /// <summary>The last line's bytes without its LF; valid until the next read.</summary>
    public ReadOnlySpan<byte> Line => _input.Data[.._lineLength];

    public async ValueTask<bool> ReadLineAsync(CancellationToken cancellationToken)
    {
        _input.Advance(_pendingAdvance);
        _pendingAdvance = 0;
        _lineLength = 0;
        IsTooLong = false;
        int scanned = 0;
        while (true)
        {
            int length = _input.Data.Length;
            int newline = _input.Data[scanned..].IndexOf((byte)'\n');
            if (newline >= 0)
            {
                // The buffer may have grown past the cap before the line's end arrived; the cap still decides.
                _lineLength = scanned + newline;
                _pendingAdvance = _lineLength + 1;
                LineNumber = _nextLine++;
                if (_lineLength > _maxLineBytes)
                {
                    IsTooLong = true;
                    _lineLength = 0;
                }

                return true;
            }

            scanned = length;
            if (length > _maxLineBytes)
            {
                LineNumber = _nextLine++;
                IsTooLong = true;
                await SkipRestOfLineAsync(cancellationToken);
                return true;
            }

            if (!await _input.ReadMoreAsync(cancellationToken))
            {
                if (length == 0)
                {
                    return false;
                }

                // The last line has no LF after it.
                _lineLength = length;
                _pendingAdvance = length;
                LineNumber = _nextLine++;
                return true;
            }
        }
    }

    private async ValueTask SkipRestOfLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int newline = _input.Data.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                _input.Advance(newline + 1);
                return;
            }

            _input.Advance(_input.Data.Length);
            if (!await _input.ReadMoreAsync(cancellationToken))
            {
                return;
            }
        }
    }
}
