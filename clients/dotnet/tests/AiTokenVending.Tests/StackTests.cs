namespace AiTokenVending.Tests;

/// <summary>The client against the real local host and its wire-level fakes: nothing mocked.</summary>
[Collection(DevStackCollection.Name)]
public sealed class StackTests(DevStack stack) : IDisposable
{
    private readonly RecordingHandler _wire = new();
    private HttpClient? _http;

    public void Dispose() => _http?.Dispose();

    private TokenVendingClient Client(string caller, TokenVendingClientOptions? options = null, Uri? api = null)
    {
        _http ??= new HttpClient(_wire);
        return new TokenVendingClient(_http, api ?? stack.ApiUrl, _ => ValueTask.FromResult(caller), options ?? new TokenVendingClientOptions());
    }

    [Fact]
    public async Task Gets_a_speech_token_with_its_endpoints()
    {
        var client = Client(await stack.CallerTokenAsync());
        var token = await client.GetTokenAsync("speech");
        Assert.False(string.IsNullOrEmpty(token.AccessToken));
        Assert.Equal(("speech", "speech", "AzureCloud", "Bearer"), (token.Resource, token.Kind, token.Cloud, token.TokenType));
        Assert.Null(token.Region); // the stack's resources are custom-subdomain ones
        Assert.StartsWith("ws://127.0.0.1:", token.Endpoints["stt"], StringComparison.Ordinal);
        Assert.InRange(token.ExpiresOn - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(8), TimeSpan.FromMinutes(11));
        Assert.DoesNotContain(token.AccessToken, token.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    public async Task Takes_the_API_root_with_or_without_a_trailing_slash(string suffix)
    {
        var client = Client(await stack.CallerTokenAsync(), api: new Uri(stack.ApiUrl.ToString().TrimEnd('/') + suffix));
        var token = await client.GetTokenAsync("translator");
        Assert.Equal("translator", token.Kind);
        Assert.Contains("text", token.Endpoints.Keys);
    }

    [Fact]
    public async Task Caches_per_resource_and_forceRefresh_asks_again()
    {
        var client = Client(await stack.CallerTokenAsync());
        var first = await client.GetTokenAsync("speech");
        Assert.Same(first, await client.GetTokenAsync("speech"));
        Assert.Single(_wire.Statuses);
        await client.GetTokenAsync("translator");
        await client.GetTokenAsync("speech", forceRefresh: true);
        Assert.Equal([200, 200, 200], _wire.Statuses);
    }

    [Fact]
    public async Task Shares_one_request_among_concurrent_callers()
    {
        var client = Client(await stack.CallerTokenAsync());
        var tokens = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetTokenAsync("speech")));
        Assert.Single(tokens.Select(t => t.AccessToken).Distinct());
        Assert.Equal([200], _wire.Statuses);
    }

    [Fact]
    public async Task A_caller_without_the_role_gets_forbidden_with_the_API_code_and_correlation_id()
    {
        var client = Client(await stack.CallerTokenAsync(new() { ["roles"] = Array.Empty<string>(), ["scp"] = "openid" }));
        var error = await Assert.ThrowsAsync<TokenVendingException>(() => client.GetTokenAsync("speech"));
        Assert.Equal(("forbidden", 403), (error.Code, error.Status));
        Assert.Contains("Speech.Token", error.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(error.CorrelationId));
        Assert.Equal([403], _wire.Statuses); // not retried
    }

    [Fact]
    public async Task An_unknown_resource_is_resource_not_found()
    {
        var client = Client(await stack.CallerTokenAsync());
        var error = await Assert.ThrowsAsync<TokenVendingException>(() => client.GetTokenAsync("no-such-thing"));
        Assert.Equal(("resource_not_found", 404), (error.Code, error.Status));
    }

    [Fact]
    public async Task A_refused_caller_token_is_thrown_when_the_app_has_no_other()
    {
        var client = Client("not-a-jwt");
        var error = await Assert.ThrowsAsync<TokenVendingException>(() => client.GetTokenAsync("speech"));
        Assert.Equal(401, error.Status);
        Assert.Equal("invalid_token", error.Code);
        Assert.DoesNotContain("not-a-jwt", error.ToString(), StringComparison.Ordinal);
        Assert.Equal([401], _wire.Statuses);
    }

    [Fact]
    public async Task After_a_401_asks_the_app_once_more_and_retries_with_its_new_token()
    {
        var good = await stack.CallerTokenAsync();
        var asked = 0;
        _http ??= new HttpClient(_wire);
        var client = new TokenVendingClient(_http, stack.ApiUrl, _ => ValueTask.FromResult(++asked == 1 ? "expired-token" : good));
        var token = await client.GetTokenAsync("speech");
        Assert.Equal("speech", token.Resource);
        Assert.Equal(2, asked);
        Assert.Equal([401, 200], _wire.Statuses);
    }

    // The stack allows a caller 60 requests a minute, refilled continuously: a busy machine may
    // need more than 60 before one is refused, so each test asks until it is (bounded).
    private const int RateLimitBound = 400;

    [Fact]
    public async Task Over_the_rate_limit_waits_as_long_as_Retry_After_says_then_succeeds()
    {
        var time = new RecordingTimeProvider();
        var client = Client(await stack.CallerTokenAsync(), new TokenVendingClientOptions { TimeProvider = time });
        for (var i = 0; i < RateLimitBound && !_wire.Statuses.Contains(429); i++)
            Assert.Equal("speech", (await client.GetTokenAsync("speech", forceRefresh: true)).Resource);
        var statuses = _wire.Statuses;
        var refused = Array.IndexOf(statuses, 429);
        Assert.True(refused >= 60, $"first 429 at request {refused + 1}");
        Assert.Equal(200, statuses[refused + 1]); // the retry, after the wait
        Assert.Contains(time.Delays, delay => delay >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_Retry_After_beyond_MaxDelay_is_thrown_at_once_with_RetryAfter()
    {
        var client = Client(await stack.CallerTokenAsync(), new TokenVendingClientOptions { MaxDelay = TimeSpan.FromMilliseconds(200) });
        TokenVendingException? error = null;
        for (var i = 0; i < RateLimitBound && error is null; i++)
        {
            try
            {
                await client.GetTokenAsync("speech", forceRefresh: true);
            }
            catch (TokenVendingException refused)
            {
                error = refused;
            }
        }
        Assert.NotNull(error);
        Assert.Equal(("rate_limited", 429), (error.Code, error.Status));
        Assert.True(error.RetryAfter >= TimeSpan.FromSeconds(1), $"RetryAfter {error.RetryAfter}");
        Assert.False(string.IsNullOrEmpty(error.CorrelationId));
        Assert.Equal([429], _wire.Statuses.Where(status => status != 200)); // not retried
        Assert.Equal(429, _wire.Statuses[^1]);
    }

    [Fact]
    public async Task Counts_expiry_from_the_server_s_expiresInSeconds_not_the_device_clock()
    {
        // A device clock two hours fast: by it, every token the API sends has long expired.
        var time = new RecordingTimeProvider { Skew = TimeSpan.FromHours(2) };
        var client = Client(await stack.CallerTokenAsync(), new TokenVendingClientOptions { TimeProvider = time });
        var first = await client.GetTokenAsync("speech");
        Assert.Same(first, await client.GetTokenAsync("speech"));
        Assert.Single(_wire.Statuses);
    }
}

/// <summary>The system's clock and timers, a device clock off by <see cref="Skew"/>, and every timer's due time recorded.</summary>
public sealed class RecordingTimeProvider : TimeProvider
{
    private readonly List<TimeSpan> _delays = [];

    public TimeSpan Skew { get; init; }

    public TimeSpan[] Delays
    {
        get
        {
            lock (_delays) return [.. _delays];
        }
    }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Skew;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        lock (_delays) _delays.Add(dueTime);
        return System.CreateTimer(callback, state, dueTime, period);
    }
}
