using System.ComponentModel.DataAnnotations;
using TextClassification.Training.Jobs;

namespace TextClassification.Training.Tests.Jobs;

public sealed class JobsOptionsTests
{
    [Fact]
    public void The_default_worker_name_is_this_machine_and_process_and_is_valid()
    {
        var options = new JobsOptions();

        Assert.Equal($"{Environment.MachineName}:{Environment.ProcessId}", options.WorkerName);
        Assert.Empty(Problems(options));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("worker\n2")]
    [InlineData("worker\u00002")]
    public void A_worker_name_that_is_blank_or_holds_control_characters_is_refused(string name) =>
        Assert.Contains(Problems(new JobsOptions { WorkerName = name }), p => p.MemberNames.Contains(nameof(JobsOptions.WorkerName)));

    [Fact]
    public void A_worker_name_longer_than_its_column_is_refused()
    {
        Assert.Empty(Problems(new JobsOptions { WorkerName = new string('w', 128) }));
        Assert.NotEmpty(Problems(new JobsOptions { WorkerName = new string('w', 129) }));
    }

    private static List<ValidationResult> Problems(JobsOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }
}
