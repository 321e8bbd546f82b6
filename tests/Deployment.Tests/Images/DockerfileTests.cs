using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using TextClassification.TestSupport;

namespace TextClassification.Deployment.Tests.Images;

/// <summary>
/// Text-level checks of deploy/Dockerfile for the faults a build alone does not show (no container engine runs in CI;
/// deploy/scripts/prove-compose.sh builds and runs the image where podman works, docs/deploy.md has its output).
/// </summary>
public sealed partial class DockerfileTests
{
    /// <summary>
    /// The CUDA major version each Microsoft.ML.OnnxRuntime.Gpu.Linux release links against, read off its
    /// libonnxruntime_providers_cuda.so (readelf -d: libcudart.so.13, libcublas.so.13, libcublasLt.so.13). A new
    /// ORT version fails the test below until its row is added here, after looking again.
    /// </summary>
    private static readonly Dictionary<string, int> CudaMajorOfOnnxRuntimeGpu = new(StringComparer.Ordinal)
    {
        ["1.31.0"] = 13,
    };

    private readonly Dockerfile dockerfile = Dockerfile.Load();

    [Fact]
    public void The_runtime_image_makes_data_owned_by_the_app_user_before_declaring_the_volume_and_dropping_root()
    {
        var runtime = dockerfile.Final;

        int makesData = runtime.IndexOf(instruction => instruction.Keyword == "RUN"
            && Regex.IsMatch(instruction.Arguments, @"mkdir -p /data\b")
            && Regex.IsMatch(instruction.Arguments, @"chown \$\{?APP_UID\}?(:\$\{?APP_UID\}?)? /data\b"));
        int volume = runtime.IndexOf(instruction => instruction.Keyword == "VOLUME" && instruction.Arguments.Contains("/data", StringComparison.Ordinal));
        int user = runtime.IndexOf(instruction => instruction.Keyword == "USER");

        Assert.True(makesData >= 0, "The runtime stage never makes /data owned by APP_UID; a named volume there would be root's.");
        // Docker's classic builder discards what a RUN changes under a path already declared a VOLUME.
        Assert.True(volume > makesData, "VOLUME /data must come after /data is made and owned.");
        Assert.True(user > makesData, "USER must come after /data is made and owned.");
        Assert.Matches(@"^\$\{?APP_UID\}?$", runtime.Instructions[user].Arguments);
        Assert.Contains(runtime.Instructions, instruction => instruction.Keyword == "ENV" && instruction.Arguments.Contains("Persistence__DataDirectory=/data", StringComparison.Ordinal));
    }

    [Fact]
    public void Each_accelerator_has_its_own_runtime_stage_and_the_final_image_starts_from_the_one_asked_for()
    {
        Assert.Equal("runtime-${ACCELERATOR}", dockerfile.Final.Image);
        Assert.Equal("cpu", dockerfile.GlobalArguments["ACCELERATOR"]);
        Assert.Equal("${RUNTIME_IMAGE}", dockerfile["runtime-cpu"].Image);
        Assert.Equal("${CUDA_RUNTIME_IMAGE}", dockerfile["runtime-cuda"].Image);
        Assert.Contains(dockerfile["build"].Instructions, instruction => instruction.Keyword == "RUN"
            && instruction.Arguments.Contains("dotnet publish", StringComparison.Ordinal)
            && instruction.Arguments.Contains("-p:Accelerator=${ACCELERATOR}", StringComparison.Ordinal));
    }

    [Fact]
    public void The_cuda_image_starts_from_an_nvidia_cuda_runtime_with_cudnn_of_the_cuda_major_onnx_runtime_gpu_links()
    {
        string image = dockerfile.Resolve(dockerfile["runtime-cuda"].Image);
        var tag = CudaImagePattern().Match(image);
        Assert.True(tag.Success, $"{image} is not an nvidia/cuda <version>-cudnn-runtime-<os> image.");

        string onnxRuntimeGpu = PackageVersion("Microsoft.ML.OnnxRuntime.Gpu.Linux");
        Assert.True(
            CudaMajorOfOnnxRuntimeGpu.TryGetValue(onnxRuntimeGpu, out int cudaMajor),
            $"Which CUDA does Microsoft.ML.OnnxRuntime.Gpu.Linux {onnxRuntimeGpu} link? Read it off libonnxruntime_providers_cuda.so and add it to the table.");
        Assert.Equal(cudaMajor, int.Parse(tag.Groups["major"].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void The_cuda_image_gets_the_dotnet_runtime_from_the_sdk_stage_and_the_same_app_user()
    {
        var cuda = dockerfile["runtime-cuda"];

        Assert.Contains(cuda.Instructions, instruction => instruction.Keyword == "COPY"
            && instruction.Arguments.StartsWith("--from=build /usr/share/dotnet/shared/Microsoft.AspNetCore.App/", StringComparison.Ordinal));
        Assert.Contains(cuda.Instructions, instruction => instruction.Keyword == "COPY"
            && instruction.Arguments.StartsWith("--from=build /usr/share/dotnet/shared/Microsoft.NETCore.App/", StringComparison.Ordinal));
        Assert.Contains(cuda.Instructions, instruction => instruction.Keyword == "ENV" && instruction.Arguments.Contains("APP_UID=1654", StringComparison.Ordinal));
        Assert.Contains(cuda.Instructions, instruction => instruction.Keyword == "RUN" && instruction.Arguments.Contains("useradd --uid ${APP_UID}", StringComparison.Ordinal));
    }

    [Fact]
    public void The_base_images_are_build_arguments_that_default_to_microsofts_images_of_the_pinned_dotnet()
    {
        var sdk = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "global.json")))!["sdk"]!["version"]!.GetValue<string>();
        string major = sdk.Split('.')[0] + ".0";

        Assert.Equal("${SDK_IMAGE}", dockerfile["build"].Image);
        Assert.Equal($"mcr.microsoft.com/dotnet/sdk:{major}", dockerfile.GlobalArguments["SDK_IMAGE"]);
        Assert.Equal($"mcr.microsoft.com/dotnet/aspnet:{major}", dockerfile.GlobalArguments["RUNTIME_IMAGE"]);
    }

    private static string PackageVersion(string id) =>
        XDocument.Load(Path.Combine(RepositoryPaths.Root, "Directory.Packages.props"))
            .Descendants("PackageVersion")
            .Single(package => (string?)package.Attribute("Include") == id)
            .Attribute("Version")!.Value;

    [GeneratedRegex(@"^nvidia/cuda:(?<major>\d+)\.\d+\.\d+-cudnn-runtime-ubuntu\d+\.\d+$")]
    private static partial Regex CudaImagePattern();
}
