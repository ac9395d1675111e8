using Dogpile.Testing;

namespace Dogpile.Redis.Tests.Infrastructure;

/// <summary>The stampede client (tests/Dogpile.Redis.StampedeClient) run as a separate OS process.</summary>
internal static class StampedeClient
{
    public static ChildProcess Start(params string[] args) => ChildProcess.StartDotnet(ClientPath(), args, new() { Name = "stampede client " + args[0] });

    private static string ClientPath()
    {
        // bin/<configuration>/<tfm>/ of this test project, mirrored in the client project's folder.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = output.Name;
        string configuration = output.Parent!.Name;
        DirectoryInfo tests = output.Parent!.Parent!.Parent!.Parent!;
        string path = Path.Combine(tests.FullName, "Dogpile.Redis.StampedeClient", "bin", configuration, tfm, "Dogpile.Redis.StampedeClient.dll");
        Assert.True(File.Exists(path), $"The stampede client was not built at {path}; build tests/Dogpile.Redis.Tests (it references the client project).");
        return path;
    }
}
