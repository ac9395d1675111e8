namespace Dogpile.Memcached.Client;

/// <summary>The status code that starts a meta-protocol reply line.</summary>
internal enum MetaStatus : byte
{
    /// <summary><c>VA &lt;size&gt; &lt;flags&gt;*</c>: a value follows.</summary>
    Value,

    /// <summary><c>HD</c>: success without a value (stored, deleted, touched).</summary>
    Success,

    /// <summary><c>NS</c>: not stored (add on an existing key, replace on a missing one).</summary>
    NotStored,

    /// <summary><c>EX</c>: the compared CAS did not match.</summary>
    Exists,

    /// <summary><c>NF</c>: not found (CAS store, delete or arithmetic on a missing key).</summary>
    NotFound,

    /// <summary><c>EN</c>: get miss.</summary>
    Miss,

    /// <summary><c>MN</c>: the reply to <c>mn</c>, ending a pipelined batch.</summary>
    NoOp,

    /// <summary><c>ERROR</c>: the server did not understand the command.</summary>
    Error,

    /// <summary><c>CLIENT_ERROR &lt;msg&gt;</c>: the command was malformed.</summary>
    ClientError,

    /// <summary><c>SERVER_ERROR &lt;msg&gt;</c>: the server failed (out of memory, item too large...).</summary>
    ServerError,
}

/// <summary>One parsed meta-protocol reply. Fields a reply did not carry keep their defaults.</summary>
internal sealed class MetaResponse
{
    public MetaStatus Status { get; init; }

    /// <summary>The data block of a <c>VA</c> reply; null for every other status.</summary>
    public byte[]? Value { get; set; }

    /// <summary>Client flags from the <c>f</c> return flag.</summary>
    public uint? ClientFlags { get; set; }

    /// <summary>CAS from the <c>c</c> return flag.</summary>
    public ulong? Cas { get; set; }

    /// <summary>Remaining TTL in seconds from the <c>t</c> return flag; -1 means the item never expires.</summary>
    public int? Ttl { get; set; }

    /// <summary>Opaque token from the <c>O</c> return flag; this client only ever sends numeric opaques.</summary>
    public uint? Opaque { get; set; }

    /// <summary>The key from the <c>k</c> return flag.</summary>
    public string? Key { get; set; }

    /// <summary>The message of an error reply.</summary>
    public string? ErrorMessage { get; init; }

    public override string ToString() => Status switch
    {
        MetaStatus.Value => $"VA ({Value?.Length} bytes)",
        MetaStatus.Success => "HD",
        MetaStatus.NotStored => "NS",
        MetaStatus.Exists => "EX",
        MetaStatus.NotFound => "NF",
        MetaStatus.Miss => "EN",
        MetaStatus.NoOp => "MN",
        MetaStatus.Error => "ERROR",
        MetaStatus.ClientError => "CLIENT_ERROR " + ErrorMessage,
        MetaStatus.ServerError => "SERVER_ERROR " + ErrorMessage,
        _ => Status.ToString(),
    };
}
