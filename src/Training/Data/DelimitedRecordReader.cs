using System.Buffers;

namespace TextClassification.Training.Data;

/// <summary>
/// Reads RFC 4180 records (CSV, or TSV with the same quoting) from UTF-8 bytes, one record per call, as a resumable
/// state machine: a record may span any number of buffer refills and only the fields asked for are kept, each up to a
/// cap, so memory stays bounded even for a quote that never closes.
/// </summary>
/// <remarks>
/// Parsing works on bytes: the delimiter, quote and line feed are ASCII, and no byte of a multi-byte UTF-8 sequence is
/// ASCII, so no decoding is needed to find field boundaries, and invalid UTF-8 is only an issue for the fields kept.
/// Records end at LF; a CR before it is left in the field, where trimming removes it (the caller trims every value).
/// A quote opens a quoted field only as the field's first byte; elsewhere in an unquoted field it is literal.
/// </remarks>
internal sealed class DelimitedRecordReader : IDisposable
{
    private static readonly SearchValues<byte> QuotedStops = SearchValues.Create("\"\n"u8);
    private static readonly SearchValues<byte> BlankBytes = SearchValues.Create(" \t\r"u8);

    private readonly InputBuffer _input;
    private readonly byte _delimiter;
    private readonly SearchValues<byte> _unquotedStops;
    private readonly List<FieldBuffer> _slots = [];

    // Field index → slot in _slots, or -1 when the field is not kept; fields past the end are not kept.
    private int[] _slotOfField = [];

    private State _state = State.FieldStart;
    private bool _inRecord;
    private bool _recordBlank;
    private int _fieldIndex;
    private long _line = 1;
    private long _quoteLine;

    public DelimitedRecordReader(InputBuffer input, byte delimiter)
    {
        _input = input;
        _delimiter = delimiter;
        _unquotedStops = SearchValues.Create([delimiter, (byte)'\n']);
    }

    private enum State
    {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
        AfterClosingQuote,
    }

    /// <summary>The 1-based physical line on which the last record started.</summary>
    public long RecordLine { get; private set; }

    /// <summary>How many fields the last record had.</summary>
    public int FieldCount { get; private set; }

    /// <summary>The last record is one unquoted field of nothing but spaces, tabs or CR: a blank line.</summary>
    public bool IsBlank { get; private set; }

    /// <summary>A quoted field of the last record had characters after its closing quote.</summary>
    public bool HasTextAfterClosingQuote { get; private set; }

    /// <summary>Set when the input ended inside a quoted field: the line on which that field's quote opened.</summary>
    public long? UnterminatedQuoteLine { get; private set; }

    /// <summary>Keeps the first <paramref name="fieldCount"/> fields of each record, each up to <paramref name="cap"/> bytes.</summary>
    public void KeepLeadingFields(int fieldCount, int cap)
    {
        _slotOfField = Enumerable.Range(0, fieldCount).ToArray();
        EnsureSlots(fieldCount, cap);
    }

    /// <summary>Keeps only the given fields (slot i holds field <c>fieldIndexes[i]</c>), each up to <paramref name="cap"/> bytes.</summary>
    public void KeepFields(IReadOnlyList<int> fieldIndexes, int cap)
    {
        _slotOfField = Enumerable.Repeat(-1, fieldIndexes.Max() + 1).ToArray();
        for (int slot = 0; slot < fieldIndexes.Count; slot++)
        {
            _slotOfField[fieldIndexes[slot]] = slot;
        }

        EnsureSlots(fieldIndexes.Count, cap);
    }

    /// <summary>A kept field of the last record; empty when the record had fewer fields.</summary>
    public FieldBuffer Slot(int slot) => _slots[slot];

    /// <summary>Reads the next record; false at the end of the input (check <see cref="UnterminatedQuoteLine"/> then).</summary>
    public async ValueTask<bool> ReadRecordAsync(CancellationToken cancellationToken)
    {
        BeginRecord();
        while (!ParseAvailable())
        {
            if (!await _input.ReadMoreAsync(cancellationToken))
            {
                return FinishAtEndOfInput();
            }
        }

        return true;
    }

    public void Dispose()
    {
        foreach (var slot in _slots)
        {
            slot.Dispose();
        }
    }

    private void EnsureSlots(int count, int cap)
    {
        while (_slots.Count < count)
        {
            _slots.Add(new FieldBuffer(cap));
        }

        while (_slots.Count > count)
        {
            _slots[^1].Dispose();
            _slots.RemoveAt(_slots.Count - 1);
        }

        foreach (var slot in _slots)
        {
            slot.Cap = cap;
            slot.Clear();
        }
    }

    private void BeginRecord()
    {
        foreach (var slot in _slots)
        {
            slot.Clear();
        }

        _state = State.FieldStart;
        _inRecord = false;
        _recordBlank = true;
        _fieldIndex = 0;
        FieldCount = 0;
        IsBlank = false;
        HasTextAfterClosingQuote = false;
    }

    /// <summary>Consumes the available bytes; true when they completed a record (the rest stays for the next one).</summary>
    private bool ParseAvailable()
    {
        var data = _input.Data;
        int i = 0;
        while (i < data.Length)
        {
            switch (_state)
            {
                case State.FieldStart:
                    if (!_inRecord)
                    {
                        _inRecord = true;
                        RecordLine = _line;
                    }

                    if (data[i] == (byte)'"')
                    {
                        _state = State.Quoted;
                        _quoteLine = _line;
                        _recordBlank = false;
                        i++;
                    }
                    else
                    {
                        _state = State.Unquoted;
                    }

                    break;

                case State.Unquoted:
                {
                    int stop = data[i..].IndexOfAny(_unquotedStops);
                    int end = stop < 0 ? data.Length : i + stop;
                    var content = data[i..end];
                    Append(content);
                    if (_recordBlank && content.IndexOfAnyExcept(BlankBytes) >= 0)
                    {
                        _recordBlank = false;
                    }

                    i = end;
                    if (stop >= 0)
                    {
                        i++;
                        if (data[end] == _delimiter)
                        {
                            EndField();
                            _recordBlank = false;
                        }
                        else
                        {
                            EndRecord();
                            _input.Advance(i);
                            return true;
                        }
                    }

                    break;
                }

                case State.Quoted:
                {
                    int stop = data[i..].IndexOfAny(QuotedStops);
                    int end = stop < 0 ? data.Length : i + stop;
                    Append(data[i..end]);
                    i = end;
                    if (stop >= 0)
                    {
                        if (data[end] == (byte)'\n')
                        {
                            Append(data.Slice(end, 1));
                            _line++;
                        }
                        else
                        {
                            _state = State.QuoteInQuoted;
                        }

                        i++;
                    }

                    break;
                }

                case State.QuoteInQuoted:
                    if (data[i] == (byte)'"')
                    {
                        // A doubled quote inside a quoted field stands for one quote.
                        Append(data.Slice(i, 1));
                        _state = State.Quoted;
                        i++;
                    }
                    else
                    {
                        _state = State.AfterClosingQuote;
                    }

                    break;

                case State.AfterClosingQuote:
                {
                    byte b = data[i];
                    if (b == _delimiter)
                    {
                        EndField();
                        i++;
                    }
                    else if (b == (byte)'\n')
                    {
                        EndRecord();
                        _input.Advance(i + 1);
                        return true;
                    }
                    else if (b is (byte)' ' or (byte)'\r')
                    {
                        // Padding between the closing quote and the delimiter or line end carries no data.
                        i++;
                    }
                    else
                    {
                        // As most readers do, keep going with the rest as unquoted text, but flag the record: a stray
                        // quote usually means the field's quotes were not doubled and its text is garbled.
                        HasTextAfterClosingQuote = true;
                        _state = State.Unquoted;
                    }

                    break;
                }
            }
        }

        _input.Advance(data.Length);
        return false;
    }

    private bool FinishAtEndOfInput()
    {
        if (!_inRecord)
        {
            return false;
        }

        if (_state == State.Quoted)
        {
            UnterminatedQuoteLine = _quoteLine;
            return false;
        }

        // The last record has no line feed after it; it ends where the input does.
        FieldCount = _fieldIndex + 1;
        IsBlank = FieldCount == 1 && _recordBlank;
        _inRecord = false;
        return true;
    }

    private void EndField()
    {
        _fieldIndex++;
        _state = State.FieldStart;
    }

    private void EndRecord()
    {
        FieldCount = _fieldIndex + 1;
        IsBlank = FieldCount == 1 && _recordBlank;
        _line++;
        _inRecord = false;
        _state = State.FieldStart;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_fieldIndex < _slotOfField.Length && _slotOfField[_fieldIndex] is int slot and >= 0)
        {
            _slots[slot].Append(bytes);
        }
    }
}
