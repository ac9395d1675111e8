using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Dogpile.Engine;

/// <summary>
/// A region's cached functions by name: the names a refresh job carries to a worker process, which finds the function
/// here to run it. Names are unique per region and the same in every process.
/// </summary>
internal sealed class FunctionRegistry(string regionName)
{
    private readonly ConcurrentDictionary<string, IRegisteredFunction> _functions = new(StringComparer.Ordinal);

    /// <summary>Throws unless <paramref name="name"/> can name a function: not empty, and without ':' (it ends the name in keys).</summary>
    public static void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException($"A cached function's name must not contain ':' (it separates the name from the arguments in keys): '{name}'.", nameof(name));
        }
    }

    /// <summary>Registers the function, refusing a second one of the same name.</summary>
    public void Add(string name, IRegisteredFunction function)
    {
        if (!_functions.TryAdd(name, function))
        {
            throw new ArgumentException($"A cached function named '{name}' is already registered in region '{regionName}'.", nameof(name));
        }
    }

    public bool Contains(string name) => _functions.ContainsKey(name);

    public bool TryGet(string name, [NotNullWhen(true)] out IRegisteredFunction? function) => _functions.TryGetValue(name, out function);
}
