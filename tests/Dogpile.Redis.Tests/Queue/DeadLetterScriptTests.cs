using Dogpile.Redis.Internal;
using Dogpile.Redis.Tests.Infrastructure;
using StackExchange.Redis;

namespace Dogpile.Redis.Tests.Queue;

/// <summary>The dead-letter script moves a job only while it is still pending: two workers can never dead-letter it twice.</summary>
public sealed class DeadLetterScriptTests(RedisServer server) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task DeadLetter_RunTwiceForOneJob_MovesItOnce()
    {
        await using DogpileRedis redis = TestRedis.Create(server);
        IDatabase db = await redis.DbAsync();
        string id = Guid.NewGuid().ToString("N");
        RedisKey stream = $"dl-{id}:jobs", dead = $"dl-{id}:dead", marker = $"dl-{id}:pending", failures = $"dl-{id}:failures";
        await db.StreamCreateConsumerGroupAsync(stream, "workers", StreamPosition.Beginning, createStream: true);
        RedisValue entryId = await db.StreamAddAsync(stream, [new NameValueEntry("job", "j1"), new NameValueEntry("region", "r")]);
        await db.StreamReadGroupAsync(stream, "workers", "w1", StreamPosition.NewMessages, 10);

        RedisResult first = await DeadLetterAsync(db, stream, dead, marker, failures, entryId);
        RedisResult second = await DeadLetterAsync(db, stream, dead, marker, failures, entryId);

        Assert.Equal(1, (long)first);
        Assert.Equal(0, (long)second);
        Assert.Equal(1, await db.StreamLengthAsync(dead));
        Assert.Equal(0, await db.StreamLengthAsync(stream));
    }

    private static Task<RedisResult> DeadLetterAsync(IDatabase db, RedisKey stream, RedisKey dead, RedisKey marker, RedisKey failures, RedisValue entryId)
        => db.ScriptEvaluateAsync(Scripts.DeadLetter, [stream, dead, marker, failures], ["workers", entryId, "j1", 1000, "job", "j1", "reason", "test"]);
}
