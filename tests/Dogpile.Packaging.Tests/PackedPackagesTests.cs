using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Dogpile.Testing;

namespace Dogpile.Packaging.Tests;

/// <summary>
/// The packages as shipped: packed in Release with their MinVer version, restored from a local folder feed into a fresh
/// program outside the repository (so neither the repository's Directory.*.props nor its project references can help),
/// built, and run against memory, a redis-server and a memcached.
/// </summary>
public sealed partial class PackedPackagesTests
{
    private static readonly string[] Packages = ["Dogpile", "Dogpile.Redis", "Dogpile.Memcached"];

    // Generous: packing, a restore that may download, and a build, on two cores shared with other test assemblies.
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task PackedPackages_RestoredIntoFreshProjectOutsideRepository_BuildAndRunAgainstMemoryRedisAndMemcached()
    {
        string repository = RepositoryRoot();
        DirectoryInfo work = Directory.CreateTempSubdirectory("dogpile-packaging-");
        try
        {
            Assert.False(
                work.FullName.StartsWith(repository, StringComparison.Ordinal),
                $"The sample must live outside the repository ({repository}), but the temp folder is {work.FullName}.");
            string feed = Path.Combine(work.FullName, "feed");
            // Built from scratch into the temp folder (artifacts layout: obj and bin per project there), never into the
            // repository's bin/obj, which other test assemblies running now may be building or reading.
            string artifacts = Path.Combine(work.FullName, "artifacts");
            foreach (string package in Packages)
            {
                await RunAsync(
                    "dotnet",
                    ["pack", Path.Combine(repository, "src", package, package + ".csproj"), "-c", "Release", "-o", feed,
                        "-p:UseArtifactsOutput=true", $"-p:ArtifactsPath={artifacts}", "-nodeReuse:false", "-clp:NoSummary"],
                    repository);
            }

            string version = AssertFeedHoldsThePackages(feed);

            string sample = Path.Combine(work.FullName, "sample");
            WriteSample(repository, sample, feed, Path.Combine(work.FullName, "packages"), version);
            await RunAsync("dotnet", ["build", sample, "-c", "Release", "-nodeReuse:false", "-clp:NoSummary"], sample);

            await using ServerProcess redis = ServerProcess.Redis();
            await using ServerProcess memcached = ServerProcess.Memcached();
            await Task.WhenAll(redis.StartAsync(), memcached.StartAsync());
            string output = await RunAsync("dotnet", [Path.Combine(sample, "bin", "Release", "net10.0", "Sample.dll"), redis.Endpoint, memcached.Endpoint], sample);

            Assert.Contains("ok memory", output, StringComparison.Ordinal);
            Assert.Contains("ok redis", output, StringComparison.Ordinal);
            Assert.Contains("ok memcached", output, StringComparison.Ordinal);
            // The program ran the packed Dogpile.dll: its informational version is the package's (plus "+commit").
            Match ran = VersionLine().Match(output);
            Assert.True(ran.Success, $"The sample printed no version line:\n{output}");
            Assert.Equal(version, ran.Groups[1].Value.Split('+')[0]);
        }
        finally
        {
            try
            {
                work.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A build server may still hold a file for a moment; the folder is in the temp directory anyway.
            }
        }
    }

    /// <summary>Checks the feed holds the three packages (and their symbol packages) at one MinVer version, each with its README, licence and metadata.</summary>
    /// <returns>The version.</returns>
    private static string AssertFeedHoldsThePackages(string feed)
    {
        string[] files = Directory.GetFiles(feed).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        string listing = string.Join(", ", files);
        Match dogpile = files.Select(f => PackageFile().Match(f)).FirstOrDefault(m => m.Success && m.Groups[1].Value == "Dogpile")
            ?? throw new Xunit.Sdk.XunitException($"No Dogpile package in the feed: {listing}");
        string version = dogpile.Groups[2].Value;
        // 1.0.0 is the SDK's default: MinVer did not run. Untagged history gives 0.1.0-alpha.0.<height>.
        Assert.NotEqual("1.0.0", version);
        Assert.Matches(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$", version);

        string[] expected = Packages.SelectMany(p => new[] { $"{p}.{version}.nupkg", $"{p}.{version}.snupkg" }).Order(StringComparer.Ordinal).ToArray();
        Assert.True(expected.SequenceEqual(files), $"Expected exactly {string.Join(", ", expected)} in the feed, found {listing}.");

        foreach (string package in Packages)
        {
            using ZipArchive nupkg = ZipFile.OpenRead(Path.Combine(feed, $"{package}.{version}.nupkg"));
            string[] entries = nupkg.Entries.Select(e => e.FullName).ToArray();
            foreach (string entry in new[] { "README.md", "LICENSE", $"lib/net10.0/{package}.dll", $"lib/net10.0/{package}.xml" })
            {
                Assert.True(entries.Contains(entry), $"{package}.{version}.nupkg lacks {entry}: {string.Join(", ", entries)}");
            }

            using Stream nuspecStream = nupkg.GetEntry($"{package}.nuspec")!.Open();
            XElement metadata = XDocument.Load(nuspecStream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
            XElement? repository = metadata.Elements().SingleOrDefault(e => e.Name.LocalName == "repository");
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("README.md", Field("readme"));
            Assert.Equal("The Dogpile authors", Field("authors"));
            Assert.False(string.IsNullOrWhiteSpace(Field("description")), $"{package}: no description");
            Assert.Contains("dogpile", Field("tags"), StringComparison.Ordinal);
            Assert.StartsWith("https://", repository?.Attribute("url")?.Value ?? "", StringComparison.Ordinal);
            if (package != "Dogpile")
            {
                // The adapters depend on the core package of the same version.
                Assert.Contains(
                    metadata.Descendants().Where(e => e.Name.LocalName == "dependency"),
                    d => d.Attribute("id")?.Value == "Dogpile" && d.Attribute("version")?.Value == version);
            }
        }

        return version;
    }

    private static void WriteSample(string repository, string sample, string feed, string packagesFolder, string version)
    {
        string template = Path.Combine(repository, "tests", "Dogpile.Packaging.Tests", "Sample");
        Directory.CreateDirectory(sample);
        File.Copy(Path.Combine(template, "Program.cs"), Path.Combine(sample, "Program.cs"));
        File.WriteAllText(
            Path.Combine(sample, "Sample.csproj"),
            File.ReadAllText(Path.Combine(template, "Sample.csproj.in"))
                .Replace("@DOGPILE_VERSION@", version, StringComparison.Ordinal)
                .Replace("@EXTENSIONS_VERSION@", ExtensionsVersion(repository), StringComparison.Ordinal));
        File.WriteAllText(
            Path.Combine(sample, "nuget.config"),
            File.ReadAllText(Path.Combine(template, "nuget.config.in"))
                .Replace("@PACKAGES_FOLDER@", packagesFolder, StringComparison.Ordinal)
                .Replace("@FEED_FOLDER@", feed, StringComparison.Ordinal));
        // Stop MSBuild's upward search for these files here, whatever a parent of the temp folder holds.
        File.WriteAllText(Path.Combine(sample, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(sample, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(sample, "Directory.Packages.props"), "<Project />\n");
    }

    /// <summary>The Microsoft.Extensions version the packages were built with (Directory.Packages.props), for the sample's DI container.</summary>
    private static string ExtensionsVersion(string repository)
    {
        XDocument props = XDocument.Load(Path.Combine(repository, "Directory.Packages.props"));
        return props.Descendants("MicrosoftExtensionsVersion").Single().Value;
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Dogpile.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Dogpile.slnx above {AppContext.BaseDirectory}.");
    }

    /// <summary>Runs a command to its end and returns its output; fails with the whole output when it fails or runs past <see cref="StepTimeout"/>.</summary>
    private static async Task<string> RunAsync(string program, string[] arguments, string directory)
    {
        var options = new ChildProcessOptions { WorkingDirectory = directory };

        // A child build must find its own SDK and MSBuild, not the ones of the `dotnet test` that started this process.
        foreach (string variable in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)))
        {
            options.Environment[variable] = null;
        }

        options.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        options.Environment["DOTNET_NOLOGO"] = "1";
        options.Environment["MSBUILDDISABLENODEREUSE"] = "1";

        var watch = Stopwatch.StartNew();
        using ChildProcess process = ChildProcess.Start(program, arguments, options);
        string command = $"{program} {string.Join(' ', arguments)}";
        int code;
        try
        {
            code = await process.WaitForExitAsync(StepTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill();
            throw new Xunit.Sdk.XunitException($"`{command}` (in {directory}) ran past {StepTimeout.TotalMinutes} min. Its output:\n{Output(process)}");
        }

        string text = Output(process);
        if (code != 0)
        {
            throw new Xunit.Sdk.XunitException($"`{command}` (in {directory}) exited with {code} after {watch.Elapsed.TotalSeconds:F0} s. Its output:\n{text}");
        }

        return text;
    }

    /// <summary>Its standard output, then the last of its standard error.</summary>
    private static string Output(ChildProcess process)
        => string.Concat(process.ReadBufferedLines().Select(line => line + "\n")) + process.StandardError;

    [GeneratedRegex(@"^(.+?)\.(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)\.nupkg$")]
    private static partial Regex PackageFile();

    [GeneratedRegex(@"^version (\S+)", RegexOptions.Multiline)]
    private static partial Regex VersionLine();
}
