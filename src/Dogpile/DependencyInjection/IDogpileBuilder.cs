namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds regions and adapters to a service collection; returned by <c>AddDogpile</c>.</summary>
public interface IDogpileBuilder
{
    /// <summary>The services being configured.</summary>
    IServiceCollection Services { get; }
}
