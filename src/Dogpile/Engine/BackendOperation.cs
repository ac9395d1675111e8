namespace Dogpile.Engine;

/// <summary>What a region asked of its shared stores when they failed: the <c>operation</c> tag of <c>dogpile.backend.failures</c>.</summary>
internal enum BackendOperation
{
    Read,
    Write,
    Remove,
    Lock,
    Invalidation,
}
