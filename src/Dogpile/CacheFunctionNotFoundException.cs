namespace Dogpile;

/// <summary>A refresh job names a cached function that this process has not registered.</summary>
public sealed class CacheFunctionNotFoundException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CacheFunctionNotFoundException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public CacheFunctionNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CacheFunctionNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a function name and region.</summary>
    /// <param name="functionName">The unknown name.</param>
    /// <param name="regionName">The region.</param>
    public CacheFunctionNotFoundException(string functionName, string regionName)
        : base($"No cached function named '{functionName}' is registered in region '{regionName}'. Register it with CacheRegion.CreateFunction in every process that runs refresh jobs.")
    {
        FunctionName = functionName;
    }

    /// <summary>The unknown name.</summary>
    public string? FunctionName { get; }
}
