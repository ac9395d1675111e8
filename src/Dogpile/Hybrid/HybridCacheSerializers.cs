using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace Dogpile.Hybrid;

/// <summary>
/// The region's serializer under <c>AddDogpileHybridCache</c>: per type, the <see cref="IHybridCacheSerializer{T}"/>
/// registered in DI, else the first registered <see cref="IHybridCacheSerializerFactory"/> (latest registration first,
/// as Microsoft's HybridCache looks them up) that offers one, else the region's own serializer. Used only by regions
/// whose backend stores bytes; the memory backend keeps live objects.
/// </summary>
internal sealed class HybridCacheSerializers(IServiceProvider services, ICacheSerializer fallback) : ICacheSerializer
{
    private readonly ConcurrentDictionary<Type, object> _byType = new();

    public ICacheSerializer Fallback => fallback;

    public void Serialize<T>(T value, IBufferWriter<byte> destination)
    {
        if (For<T>() is { } serializer)
        {
            serializer.Serialize(value, destination);
        }
        else
        {
            fallback.Serialize(value, destination);
        }
    }

    public T Deserialize<T>(ReadOnlySequence<byte> source)
        => For<T>() is { } serializer ? serializer.Deserialize(source) : fallback.Deserialize<T>(source);

    private IHybridCacheSerializer<T>? For<T>()
        => _byType.GetOrAdd(typeof(T), static (_, sp) => (object?)Find<T>(sp) ?? NoSerializer.Instance, services) as IHybridCacheSerializer<T>;

    private static IHybridCacheSerializer<T>? Find<T>(IServiceProvider services)
    {
        if (services.GetService<IHybridCacheSerializer<T>>() is { } registered)
        {
            return registered;
        }

        foreach (IHybridCacheSerializerFactory factory in services.GetServices<IHybridCacheSerializerFactory>().Reverse())
        {
            if (factory.TryCreateSerializer(out IHybridCacheSerializer<T>? created))
            {
                return created;
            }
        }

        return null;
    }

    /// <summary>Remembers "none registered for this type" so DI is asked once per type.</summary>
    private sealed class NoSerializer
    {
        public static readonly NoSerializer Instance = new();
    }
}
