using System.Text;
using TextClassification.Training.Data;

namespace TextClassification.Training.Tests.Data;

public sealed class StreamingImportTests
{
    [Fact]
    public async Task A_50_MB_upload_is_imported_with_bounded_memory()
    {
        const long TargetBytes = 50L * 1024 * 1024;
        using var source = new GeneratedCsvStream(TargetBytes);
        using var output = new LiveHeapSamplingStream(sampleEveryBytes: 4 * 1024 * 1024);
        long baseline = GC.GetTotalMemory(forceFullCollection: true);

        var result = await DatasetImporter.ImportAsync(source, "big.csv", new DatasetImportOptions { RedactPii = true }, output);
        long peak = Math.Max(output.PeakLiveHeap, GC.GetTotalMemory(forceFullCollection: true));

        Assert.False(result.IsRejected);
        Assert.Equal(source.RowsGenerated, result.RowCount);
        Assert.Equal(10, result.Labels.Count);
        Assert.True(output.Samples >= 8, $"Only {output.Samples} memory samples were taken.");
        // Holding the upload would take 50 MB of bytes (and twice that as strings); the dedupe set for ~130k rows takes
        // a few MB. 32 MB over the baseline separates the two with room to spare.
        long growth = peak - baseline;
        Assert.True(growth < 32L * 1024 * 1024, $"The live heap grew by {growth / (1024 * 1024)} MB while importing.");
    }

    [Fact]
    public async Task An_import_stops_when_cancelled()
    {
        using var source = new GeneratedCsvStream(10L * 1024 * 1024);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            DatasetImporter.ImportAsync(source, "big.csv", new DatasetImportOptions(), Stream.Null, cancellation.Token));
    }

    /// <summary>A CSV upload produced on the fly, so the test itself holds none of it.</summary>
    private sealed class GeneratedCsvStream(long targetBytes) : Stream
    {
        private readonly byte[] _pending = new byte[4096];
        private int _pendingStart;
        private int _pendingLength;
        private long _produced;
        private bool _headerWritten;

        public int RowsGenerated { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _produced; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_pendingLength == 0 && !Produce())
            {
                return 0;
            }

            int n = Math.Min(buffer.Length, _pendingLength);
            _pending.AsSpan(_pendingStart, n).CopyTo(buffer);
            _pendingStart += n;
            _pendingLength -= n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private bool Produce()
        {
            if (_produced >= targetBytes)
            {
                return false;
            }

            string line;
            if (!_headerWritten)
            {
                _headerWritten = true;
                line = "id,text,label\n";
            }
            else
            {
                int i = RowsGenerated++;
                line = $"{i},\"Row {i}: a customer writes about order {i % 977}, asking \"\"where is it?\"\" and mentions 多语言 text, " +
                    $"emoji 😀 and a long tail of ordinary words to make the row a realistic length for intent data, " +
                    $"padded with more words so that each row weighs about four hundred bytes in all.\",label{i % 10}\n";
            }

            _pendingStart = 0;
            _pendingLength = Encoding.UTF8.GetBytes(line, _pending);
            _produced += _pendingLength;
            return true;
        }
    }

    /// <summary>Discards what is written, measuring the live heap (after a full collection) every few megabytes.</summary>
    private sealed class LiveHeapSamplingStream(long sampleEveryBytes) : Stream
    {
        private long _written;
        private long _sampled;

        public long PeakLiveHeap { get; private set; }

        public int Samples { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _written;

        public override long Position { get => _written; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _written += buffer.Length;
            if (_written - _sampled >= sampleEveryBytes)
            {
                _sampled = _written;
                PeakLiveHeap = Math.Max(PeakLiveHeap, GC.GetTotalMemory(forceFullCollection: true));
                Samples++;
            }
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
