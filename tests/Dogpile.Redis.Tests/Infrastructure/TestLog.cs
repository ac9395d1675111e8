using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Dogpile.Redis.Tests.Infrastructure;

/// <summary>
/// The tests' logger: keeps the latest warnings and errors in memory, for a failing assertion to show what the library
/// reported, and logs everything to the file named by DOGPILE_TEST_LOG when it is set.
/// </summary>
internal sealed class TestLog : ILoggerFactory, ILogger
{
    private const int Kept = 200;
    private static readonly string? FilePath = Environment.GetEnvironmentVariable("DOGPILE_TEST_LOG");
    private static readonly Lock FileGate = new();
    private static readonly ConcurrentQueue<string> Warnings = new();

    public static ILoggerFactory Instance { get; } = new TestLog();

    /// <summary>The kept warnings and errors that contain <paramref name="filter"/> (every test shares this log).</summary>
    public static string WarningsAbout(string filter)
    {
        string[] lines = Warnings.Where(line => line.Contains(filter, StringComparison.Ordinal)).ToArray();
        return lines.Length == 0 ? "(no warnings logged)" : string.Join("\n", lines);
    }

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => FilePath is not null || logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string line = $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {formatter(state, exception)} {exception}";
        if (logLevel >= LogLevel.Warning)
        {
            Warnings.Enqueue(line);
            while (Warnings.Count > Kept && Warnings.TryDequeue(out _))
            {
            }
        }

        if (FilePath is not null)
        {
            lock (FileGate)
            {
                File.AppendAllText(FilePath, line + "\n");
            }
        }
    }

    public void Dispose()
    {
    }
}
