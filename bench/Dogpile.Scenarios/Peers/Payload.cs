using System.ComponentModel;

namespace Dogpile.Scenarios.Peers;

/// <summary>
/// The cached value of the scenarios: which creator call made it and when (Stopwatch timestamp), so a caller
/// can tell a stale value from a fresh one. Immutable, so HybridCache does not copy it.
/// </summary>
[ImmutableObject(true)]
public sealed record Payload(string Key, long Generation, long CreatedTimestamp);
