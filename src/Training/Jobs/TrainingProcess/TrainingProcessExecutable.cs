using System.Diagnostics;
using System.Reflection;

namespace TextClassification.Training.Jobs.TrainingProcess;

/// <summary>
/// The program a training child process runs: the service's own entry assembly, named by the service when it
/// registers training (a test host's entry assembly is the test runner, so it cannot be guessed). Started the way
/// this process was: through the <c>dotnet</c> host when this process runs under it, else through the assembly's
/// apphost.
/// </summary>
public sealed class TrainingProcessExecutable(Assembly? entryAssembly)
{
    public string? AssemblyPath { get; } = entryAssembly?.Location is { Length: > 0 } location ? location : null;

    public ProcessStartInfo StartInfo()
    {
        string assembly = AssemblyPath
            ?? throw new InvalidOperationException(
                "This process did not name the executable that trains in a child process (AddTraining(typeof(Program).Assembly)); "
                + "set Jobs:TrainingProcess:Isolation to InProcess or name it.");
        var start = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        string host = Environment.ProcessPath ?? "dotnet";
        string apphost = Path.Combine(Path.GetDirectoryName(assembly)!, Path.GetFileNameWithoutExtension(assembly));
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.FileName = host;
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add(assembly);
        }
        else if (File.Exists(apphost))
        {
            start.FileName = apphost;
        }
        else
        {
            start.FileName = "dotnet";
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add(assembly);
        }

        start.ArgumentList.Add(TrainingProcessProtocol.Command);
        return start;
    }
}
