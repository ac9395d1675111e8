using Packages.Upstream;

// Standalone: dotnet run --project samples/Packages.Upstream -- --urls http://127.0.0.1:5081 --Upstream:DelayScale 0.01
var builder = WebApplication.CreateBuilder(args);
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    // Loopback by default: this is a test double, not something to expose on the network.
    builder.WebHost.UseUrls("http://127.0.0.1:5081");
}

// Per-request hosting logs would drown the console at the request rates a cache demo produces.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

var options = builder.Configuration.GetSection(UpstreamOptions.SectionName).Get<UpstreamOptions>() ?? new UpstreamOptions();
builder.Services.AddUpstream(options);

var app = builder.Build();
app.MapUpstream();
await app.RunAsync();
