using Packages.Web;
using Packages.Web.Configuration;

// dotnet run --project samples/Packages.Web [-- --urls http://127.0.0.1:5081 --Cache:ExpirationSeconds 5 --Upstream:DelayScale 0.1 ...]
WebApplication? app = null;
try
{
    app = PackagesWebApp.Build(args);
    await PackagesWebApp.StartAsync(app);
}
catch (StartupException ex)
{
    await Console.Error.WriteLineAsync($"error: {ex.Message}");
    if (app is not null)
    {
        await app.DisposeAsync();
    }

    return 2;
}

await using (app)
{
    var upstream = PackagesWebApp.GetUpstreamAddress(app);
    Console.WriteLine($"Dogpile packages app: open {PackagesWebApp.GetAddress(app)}");
    Console.WriteLine($"Bug tracker{(app.Configuration["Upstream:Url"] is { Length: > 0 } ? "" : " simulator (embedded)")}: {upstream}");
    await app.WaitForShutdownAsync();
}

return 0;
