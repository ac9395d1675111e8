namespace Dogpile.Engine;

/// <summary>The registered function behind a multi-key creator, and how to find the argument of one of its keys.</summary>
internal sealed record ManyFunction(IRegisteredFunction Function, Func<string, object?> ArgumentOf);
