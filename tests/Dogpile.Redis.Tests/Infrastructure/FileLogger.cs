using Microsoft.Extensions.Logging;

namespace Dogpile.Redis.Tests.Infrastructure;

/// <summary>Logs to the file named by DOGPILE_TEST_LOG (for debugging a failing test); nowhere otherwise.</summary>
internal sealed class FileLoggerFactory : ILoggerFactory, ILogger
{
    private static readonly string? Path = Environment.GetEnvironmentVariable("DOGPILE_TEST_LOG");
    private static readonly Lock Gate = new();

    public static ILoggerFactory? Instance { get; } = Path is null ? null : new FileLoggerFactory();

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Gate)
        {
            File.AppendAllText(Path!, $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {formatter(state, exception)} {exception}\n");
        }
    }

    public void Dispose()
    {
    }
}
