namespace Dogpile.DistributedBenchmarks;

internal static partial class Sections
{
    public static Task<string> KilledAsync(string redis, string memcached) => Task.FromResult("");
}

internal static class LockHolderKilled
{
    public static Task<int> HolderAsync(string a, string b, string c) => Task.FromResult(2);
    public static Task<int> WaiterAsync(string a, string b, string c) => Task.FromResult(2);
}
