using Microsoft.Playwright;

namespace Packages.Tests.Browser;

/// <summary>
/// One headless chromium for the browser tests: Debian's package (<c>/usr/bin/chromium</c>, installed by ./test.sh),
/// driven by Playwright through its executable path. Playwright's own browser download is never used. Override the
/// path with <c>DOGPILE_CHROMIUM</c>.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string DefaultChromium = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where screenshots go: <c>artifacts/screenshots</c> under the repository (gitignored).</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(RepositoryRoot(), "artifacts", "screenshots");

    public async Task InitializeAsync()
    {
        var chromium = Environment.GetEnvironmentVariable("DOGPILE_CHROMIUM") is { Length: > 0 } configured ? configured : DefaultChromium;
        if (!File.Exists(chromium))
        {
            throw new InvalidOperationException($"{chromium} is missing: run ./test.sh (it installs Debian's chromium) or apt-get install -y chromium, or set DOGPILE_CHROMIUM.");
        }

        Directory.CreateDirectory(ScreenshotDirectory);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,

            // Root in CI containers: chromium refuses to start sandboxed as root. /dev/shm is small in containers.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
            Timeout = 60_000,
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dogpile.slnx")))
            {
                return dir.FullName;
            }
        }

        return Path.GetTempPath();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
