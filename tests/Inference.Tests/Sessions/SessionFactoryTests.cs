using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TextClassification.Inference.Sessions;

namespace TextClassification.Inference.Tests.Sessions;

/// <summary>The thread defaults measured in docs/benchmarks.md ("MiniLM classifier"): see InferenceOptions.IntraOpThreads.</summary>
public sealed class SessionFactoryTests
{
    private static SessionFactory Factory(int intraOpThreads) =>
        new(Options.Create(new InferenceOptions { IntraOpThreads = intraOpThreads }), NullLogger<SessionFactory>.Instance);

    [Fact]
    public void By_default_every_run_has_one_thread_and_every_core_a_run()
    {
        var factory = Factory(0);

        Assert.Equal(1, factory.IntraOpThreads);
        Assert.Equal(Environment.ProcessorCount, factory.ConcurrentRuns(SessionFactory.Cpu));
        Assert.Equal(2, factory.ConcurrentRuns(SessionFactory.Cuda));
    }

    [Fact]
    public void A_configured_thread_count_is_used_and_fewer_runs_share_the_cores()
    {
        var factory = Factory(2);

        Assert.Equal(2, factory.IntraOpThreads);
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), factory.ConcurrentRuns(SessionFactory.Cpu));
        Assert.Equal(1, Factory(Environment.ProcessorCount + 1).ConcurrentRuns(SessionFactory.Cpu));
    }
}
