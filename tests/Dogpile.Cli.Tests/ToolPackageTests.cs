using System.Text.Json;
using Dogpile.Testing;

namespace Dogpile.Cli.Tests;

/// <summary>The tool as a user gets it: packed, installed with <c>dotnet tool install</c>, run as its own process.</summary>
public sealed class ToolPackageTests(RedisFixture server) : IClassFixture<RedisFixture>, IDisposable
{
    private static readonly TimeSpan StepLimit = TimeSpan.FromMinutes(4);
    private readonly string _work = Directory.CreateTempSubdirectory("dogpile-cli-pack-").FullName;

    [Fact]
    public async Task Packed_InstalledAsTool_RunsVersionAndQueueAgainstRealRedis_RefusesChangesWithoutTerminal()
    {
        string repo = RepositoryRoot();
        string packages = Path.Combine(_work, "packages");
        string tools = Path.Combine(_work, "tools");

        // Its own artifacts folder: the pack neither reads nor overwrites the test run's build outputs. The tool
        // package carries Dogpile, Dogpile.Redis and Dogpile.Memcached inside it, so only it is needed in the folder.
        (int packCode, string packOut) = await RunAsync("dotnet", ["pack", Path.Combine(repo, "tools", "Dogpile.Cli"), "-c", "Release", "-o", packages, "--artifacts-path", Path.Combine(_work, "artifacts")], repo);
        Assert.True(packCode == 0, packOut);
        Assert.Single(Directory.GetFiles(packages, "Dogpile.Cli.*.nupkg"));

        (int installCode, string installOut) = await RunAsync("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", packages, "Dogpile.Cli"], _work);
        Assert.True(installCode == 0, installOut);
        string dogpile = Path.Combine(tools, OperatingSystem.IsWindows() ? "dogpile.exe" : "dogpile");

        (int versionCode, string version) = await RunAsync(dogpile, ["--version"], _work);
        Assert.True(versionCode == 0, version);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Trim());

        (int queueCode, string queue) = await RunAsync(dogpile, ["redis", "queue", "--json", "--redis", server.Endpoint], _work);
        Assert.True(queueCode == 0, queue);
        Assert.Equal(0, JsonDocument.Parse(queue).RootElement.GetProperty("length").GetInt64());

        // Standard input is not a terminal here: a state change needs --yes.
        (int invalidateCode, string invalidate) = await RunAsync(dogpile, ["redis", "invalidate", "any", "--force", "--redis", server.Endpoint], _work);
        Assert.Equal(6, invalidateCode);
        Assert.Contains("--yes", invalidate, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dogpile.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Dogpile.slnx not found above " + AppContext.BaseDirectory);
    }

    private static async Task<(int Code, string Output)> RunAsync(string program, string[] args, string directory)
    {
        using ChildProcess process = ChildProcess.Start(program, args, new ChildProcessOptions
        {
            WorkingDirectory = directory,
            Environment = { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" },
        });

        // Standard input is redirected and empty, as under a CI runner: the tool must not take it for a terminal.
        process.CloseInput();
        int code = await process.WaitForExitAsync(StepLimit);
        return (code, string.Concat(process.ReadBufferedLines().Select(line => line + "\n")) + process.StandardError);
    }
}
