using System.Text;
using CsCheck;
using Serving.Server.Benchmarks.Serve;

namespace Serving.Server.Tests.Benchmarks;

public sealed class SseEventReaderTests
{
    private const string Wire =
        ": keep-alive comment\n\n" +
        "data: {\"a\":1}\n\n" +
        "event: message\r\nid: 7\r\ndata:{\"b\":\"é\"}\r\n\r\n" +
        "data: first\ndata: second\n\n" +
        "data: [DONE]\n\n" +
        "data: unterminated";

    private static readonly string[] Expected = ["{\"a\":1}", "{\"b\":\"é\"}", "first\nsecond", "[DONE]"];

    [Fact]
    public async Task Reads_DataOfEachEvent_LfAndCrLf_CommentsAndOtherFieldsSkipped_UnterminatedDropped()
    {
        var events = await ReadAllAsync(new MemoryStream(Encoding.UTF8.GetBytes(Wire)));
        Assert.Equal(Expected, events);
    }

    [Fact]
    public void Property_TheSameEventsWhereverTheBytesAreSplit() =>
        Gen.Int[1, 40].Array[1, 30].Sample(sizes =>
        {
            var events = ReadAllAsync(new TrickleStream(Encoding.UTF8.GetBytes(Wire), sizes)).GetAwaiter().GetResult();
            return events.SequenceEqual(Expected);
        });

    [Fact]
    public async Task LongEvent_GrowsTheBuffer()
    {
        var payload = new string('x', 50_000);
        var events = await ReadAllAsync(new MemoryStream(Encoding.UTF8.GetBytes($"data: {payload}\n\n")));
        Assert.Equal([payload], events);
    }

    private static async Task<List<string>> ReadAllAsync(Stream stream)
    {
        var reader = new SseEventReader(stream);
        var events = new List<string>();
        while (await reader.ReadAsync(CancellationToken.None) is { } data)
        {
            events.Add(data);
        }

        return events;
    }

    /// <summary>A stream returning its bytes in reads of the given sizes (cycled), like a network delivering
    /// arbitrary fragments, multi-byte characters split included.</summary>
    private sealed class TrickleStream(byte[] bytes, int[] sizes) : MemoryStream(bytes)
    {
        private int _read;

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, sizes[_read++ % sizes.Length]));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, sizes[_read++ % sizes.Length])], cancellationToken);
    }
}
