using System.Globalization;
using Microsoft.Extensions.Options;

// One source for every package: the adapters compile this file in (Link) rather than see Dogpile's internals, so each
// assembly has its own internal copy and no package depends on another's internal surface.
namespace Dogpile.Internal;

/// <summary>
/// Collects every problem of one options object, each message naming the option ("CacheRegionOptions.Expiration must
/// be positive ..."), so the same rules serve both the constructors (<see cref="ThrowIfInvalid"/>: one exception
/// listing them all) and start-up validation (<see cref="OptionsValidator{TOptions}"/>).
/// </summary>
internal sealed class OptionsCheck(string typeName)
{
    private List<(string Option, string Message)>? _problems;

    public IReadOnlyList<string> Problems => _problems is null ? [] : [.. _problems.Select(p => p.Message)];

    /// <summary>Records "<c>{type}.{option} {rule}.</c>" unless <paramref name="valid"/>.</summary>
    public void Require(bool valid, string option, string rule)
    {
        if (!valid)
        {
            Add(option, $"{typeName}.{option} {rule}.");
        }
    }

    /// <summary>Records a message written in full (for rules that tie two options together).</summary>
    public void Add(string option, string message) => (_problems ??= []).Add((option, message));

    public void AtLeast(long value, long min, string option)
        => Require(value >= min, option, string.Create(CultureInfo.InvariantCulture, $"must be at least {min}, not {value}"));

    public void InRange(long value, long min, long max, string option)
        => Require(
            value >= min && value <= max,
            option,
            string.Create(CultureInfo.InvariantCulture, $"must be between {min} and {max}, not {value}"));

    public void Positive(TimeSpan value, string option)
        => Require(value > TimeSpan.Zero, option, $"must be positive, not {value}");

    public void PositiveOrInfinite(TimeSpan value, string option)
        => Require(value == Timeout.InfiniteTimeSpan || value > TimeSpan.Zero, option, $"must be positive (or Timeout.InfiniteTimeSpan), not {value}");

    public void NotNegative(TimeSpan value, string option)
        => Require(value >= TimeSpan.Zero, option, $"must not be negative, not {value}");

    public void NotEmpty(string? value, string option)
        => Require(!string.IsNullOrWhiteSpace(value), option, "must not be empty");

    /// <summary>Adds the problems of a nested options object (already prefixed with its own type name).</summary>
    public void Include(string option, OptionsCheck nested)
    {
        foreach ((_, string message) in nested._problems ?? [])
        {
            Add(option, message);
        }
    }

    /// <summary>Throws one <see cref="ArgumentException"/> listing every problem, naming the first option as the parameter.</summary>
    /// <exception cref="ArgumentException">At least one problem was recorded.</exception>
    public void ThrowIfInvalid()
    {
        if (_problems is { Count: > 0 } problems)
        {
            string message = problems.Count == 1
                ? problems[0].Message
                : $"{problems.Count} problems: " + string.Join(" ", problems.Select(p => p.Message));
            throw new ArgumentException(message, problems[0].Option);
        }
    }
}

/// <summary>An options class whose rules are written once, as a list of problems (see <see cref="OptionsCheck"/>).</summary>
internal interface ICheckedOptions
{
    /// <summary>Records every problem of this object.</summary>
    OptionsCheck Check();
}

/// <summary>
/// Start-up validation (<c>ValidateOnStart</c>) of one options type by the same rules its constructor applies: every
/// problem, of every named instance, in one <see cref="OptionsValidationException"/>.
/// </summary>
internal sealed class OptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : class, ICheckedOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<string> problems = options.Check().Problems;
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
