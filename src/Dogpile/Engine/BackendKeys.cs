using System.Runtime.CompilerServices;
using System.Text;
using Dogpile.Internal;

namespace Dogpile.Engine;

/// <summary>
/// Turns a caller's key into the backend's key: validated (not null or empty, within the backend's byte limit), then
/// mangled and prefixed as the region is configured. Callers, cached functions and refresh jobs always see the
/// caller's key; only the backend sees this one.
/// </summary>
internal sealed class BackendKeys
{
    private readonly int _maxKeyBytes;
    private readonly string? _prefix;
    private readonly Func<string, string>? _mangler;
    private readonly bool _manglerSeesPrefix;

    public BackendKeys(ICacheBackend backend, string? keyPrefix, Func<string, string>? keyMangler)
    {
        _maxKeyBytes = backend.MaxKeyLength;
        _prefix = string.IsNullOrEmpty(keyPrefix) ? null : keyPrefix;
        _mangler = keyMangler ?? backend.DefaultKeyMangler;

        // The backend's mangler enforces the backend's rules, which apply to the whole key it receives.
        _manglerSeesPrefix = keyMangler is null && _mangler is not null;
        IsPlain = _mangler is null && _prefix is null;

        // Keys this short are within the backend's limit whatever their UTF-8 encoding (at most 3 bytes per char).
        PlainHitMaxChars = _maxKeyBytes / 3;
    }

    /// <summary>Whether a mangler (the region's or the backend's) rewrites keys.</summary>
    public bool HasMangler => _mangler is not null;

    /// <summary>The region's key prefix, or null.</summary>
    public string? Prefix => _prefix;

    /// <summary>Whether a backend key is the caller's key itself (no prefix, no mangler).</summary>
    public bool IsPlain { get; }

    /// <summary>The longest plain key that needs no byte count: the inlined hit path checks only this.</summary>
    public int PlainHitMaxChars { get; }

    /// <summary>Validates a caller's key and turns it into the backend's key (mangled, then prefixed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public string ToBackendKey(string key)
    {
        if (string.IsNullOrEmpty(key))
        {
            Throw.KeyNullOrEmpty(key);
        }

        if (IsPlain)
        {
            // UTF-8 needs at most 3 bytes per UTF-16 char: only long keys need counting.
            if (key.Length * 3 > _maxKeyBytes)
            {
                CheckLength(key);
            }

            return key;
        }

        return Compose(key);
    }

    private string Compose(string key)
    {
        string mangled = _mangler is null || _manglerSeesPrefix ? key : _mangler(key);
        string full = _prefix is null ? mangled : string.Concat(_prefix, mangled);
        if (_manglerSeesPrefix)
        {
            full = _mangler!(full);
        }

        if (full.Length * 3 > _maxKeyBytes)
        {
            CheckLength(full);
        }

        return full;
    }

    private void CheckLength(string key)
    {
        int bytes = Encoding.UTF8.GetByteCount(key);
        if (bytes > _maxKeyBytes)
        {
            Throw.KeyTooLong(key, bytes, _maxKeyBytes);
        }
    }
}
