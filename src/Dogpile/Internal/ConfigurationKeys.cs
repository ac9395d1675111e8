using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

// Compiled into every package, like OptionsCheck.cs.
namespace Dogpile.Internal;

/// <summary>
/// Start-up check that every key under an options type's configuration section names one of its options. The binder
/// ignores unknown keys, so a typo ("Expiraton") would silently leave the default in place; here it fails the start
/// with the key's full path, next to every other problem of the same options.
/// </summary>
internal sealed class ConfigurationKeysValidator<TOptions>(string? optionsName, IConfiguration section) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        if (!string.Equals(name ?? Options.DefaultName, optionsName ?? Options.DefaultName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var problems = new List<string>();
        ConfigurationKeys.CollectUnknown(section, typeof(TOptions), problems);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

internal static class ConfigurationKeys
{
    /// <summary>Adds a problem for every key under <paramref name="section"/> that binds to nothing on <paramref name="type"/>.</summary>
    public static void CollectUnknown(IConfiguration section, Type type, List<string> problems)
    {
        foreach (IConfigurationSection child in section.GetChildren())
        {
            PropertyInfo? property = type.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null)
            {
                problems.Add($"Configuration key '{child.Path}' is not an option of {type.Name}.");
                continue;
            }

            Type target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (IsValue(target) || IsList(target))
            {
                if (property.SetMethod is not { IsPublic: true } && !IsList(target))
                {
                    problems.Add($"Configuration key '{child.Path}': {type.Name}.{property.Name} cannot be set.");
                }

                continue;
            }

            if (target.IsInterface || target.IsAbstract || typeof(Delegate).IsAssignableFrom(target))
            {
                // A backend, lock provider, serializer, delegate...: objects, set in code (the configure callback).
                problems.Add($"Configuration key '{child.Path}': {type.Name}.{property.Name} is an object; set it in code, not in configuration.");
                continue;
            }

            CollectUnknown(child, target, problems);
        }
    }

    private static bool IsValue(Type type)
        => type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Uri);

    private static bool IsList(Type type) => type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type);
}
