using Packages.Web;
using Packages.Web.Configuration;

// dotnet run --project samples/Packages.Web [-- --Cache:ExpirationSeconds 5 --Upstream:DelayScale 0.1 ...]
WebApplication app;
try
{
    app = PackagesWebApp.Build(args);
}
catch (StartupException ex)
{
    await Console.Error.WriteLineAsync($"error: {ex.Message}");
    return 2;
}

await using (app)
{
    await app.StartAsync();
    var upstream = PackagesWebApp.GetUpstreamAddress(app);
    Console.WriteLine($"Dogpile packages app: open {PackagesWebApp.GetAddress(app)}");
    Console.WriteLine($"Bug tracker{(app.Configuration["Upstream:Url"] is { Length: > 0 } ? "" : " simulator (embedded)")}: {upstream}");
    await app.WaitForShutdownAsync();
}

return 0;
