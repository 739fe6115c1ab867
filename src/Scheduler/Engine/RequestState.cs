using System.Threading.Channels;
using Serving.Kernels.Sampling;
using Serving.Kernels.Tokenizers;
using Serving.Scheduler.Generation;

namespace Serving.Scheduler.Engine;

/// <summary>Where a request stands in the engine.</summary>
internal enum RequestStatus
{
    Waiting,
    Running,
}

/// <summary>
/// A request's runtime state. Its known tokens are the prompt plus everything generated; "computed" counts those whose
/// K/V sit in the cache. Scheduling lets computed catch up with known (vLLM v1): a prefill, a prefill chunk, a decode
/// step and a recompute after preemption are the same operation.
/// </summary>
internal sealed class RequestState
{
    private readonly int _outputCapacity;

    public RequestState(long id, GenerationRequest request, ITokenizer tokenizer, int vocabSize, int outputCapacity)
    {
        Id = id;
        Request = request;
        Tokens = [.. request.PromptTokens];
        PromptLength = Tokens.Count;
        Sampler = new Sampler(request.Sampling, vocabSize);
        Processor = new LogitsProcessor(request.Sampling, request.PromptTokens);
        _outputCapacity = outputCapacity;

        // One slot more than a request may fill while running: the final text-only item always fits.
        Output = Channel.CreateBounded<GeneratedPiece>(new BoundedChannelOptions(outputCapacity + 1) { SingleReader = true, SingleWriter = true });
        Detokenizer = new IncrementalDetokenizer(tokenizer, atStartOfText: request.PromptTokens.All(tokenizer.IsSpecial));
        Stops = new StopStringMatcher(request.StopStrings);
    }

    public long Id { get; }

    public GenerationRequest Request { get; }

    public List<int> Tokens { get; }

    public int PromptLength { get; }

    public int Generated => Tokens.Count - PromptLength;

    public int Computed { get; set; }

    /// <summary>Timestamp (<see cref="TimeProvider.GetTimestamp"/>) of submission.</summary>
    public long SubmittedAt { get; init; }

    /// <summary>Timestamp of the first step that computed any of its tokens; 0 until then.</summary>
    public long FirstScheduledAt { get; set; }

    /// <summary>Timestamp of the last generated token; 0 until the first.</summary>
    public long LastTokenAt { get; set; }

    public RequestStatus Status { get; set; } = RequestStatus.Waiting;

    public Sampler Sampler { get; }

    public LogitsProcessor Processor { get; }

    public Channel<GeneratedPiece> Output { get; }

    public IncrementalDetokenizer Detokenizer { get; }

    public StopStringMatcher Stops { get; }

    public TaskCompletionSource<FinishReason> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed when a step first computes any of the request's tokens.</summary>
    public TaskCompletionSource Scheduled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether the reader has left room for another token; a request without room is not stepped.</summary>
    public bool CanEmit => Output.Reader.Count < _outputCapacity;
}
