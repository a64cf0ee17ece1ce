using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace AiTokenVending.Tests;

/// <summary>What the dev stack cannot easily produce (5xx, gateways, hung connections, bad bodies), scripted at the HTTP boundary.</summary>
public sealed class ClientTests : IDisposable
{
    private static readonly Uri Api = new("https://func.example/api");
    private readonly ScriptedApi _api = new();
    private readonly HttpClient _http;
    private int _asked;

    public ClientTests() => _http = new HttpClient(_api);

    public void Dispose()
    {
        _http.Dispose();
        _api.AssertDone();
    }

    private TokenVendingClient Client(TokenVendingClientOptions? options = null) =>
        new(_http, Api, _ => ValueTask.FromResult($"entra-{++_asked}"), options ?? new TokenVendingClientOptions { BaseDelay = TimeSpan.Zero });

    [Fact]
    public async Task Sends_the_Entra_token_to_the_encoded_resource_and_parses_the_answer()
    {
        _api.Token("a");
        var token = await Client().GetTokenAsync("speech/eu west?x");
        var request = Assert.Single(_api.Requests);
        Assert.Equal("https://func.example/api/token/speech%2Feu%20west%3Fx", request.RequestUri!.AbsoluteUri);
        Assert.Equal(("Bearer", "entra-1"), (request.Headers.Authorization!.Scheme, request.Headers.Authorization.Parameter));
        Assert.Equal(("ai-token-a", "westeurope"), (token.AccessToken, token.Region));
        Assert.Equal(new DateTimeOffset(2030, 1, 1, 0, 10, 0, TimeSpan.Zero), token.ExpiresOn);
        // unknown fields ignored, non-string endpoints dropped, extra headers kept
        Assert.Equal(["stt"], token.Endpoints.Keys);
        Assert.Equal(
            new Dictionary<string, string> { ["Authorization"] = "Bearer ai-token-a", ["Ocp-Apim-Subscription-Region"] = "westeurope" },
            token.RequestHeaders("text"));
        Assert.Equal(new Dictionary<string, string> { ["Authorization"] = "Bearer ai-token-a" }, token.RequestHeaders("stt"));
    }

    [Fact]
    public async Task Retries_5xx_and_network_errors_then_succeeds()
    {
        _api.Problem(503, "sts_unavailable").Fail().Token("a");
        Assert.Equal("ai-token-a", (await Client().GetTokenAsync("speech")).AccessToken);
        Assert.Equal(3, _api.Requests.Count);
    }

    [Fact]
    public async Task Gives_up_after_MaxAttempts_with_the_last_error()
    {
        _api.Problem(503, "sts_unavailable").Fail().Problem(504, "sts_timeout");
        var error = await Assert.ThrowsAsync<TokenVendingException>(() => Client().GetTokenAsync("speech"));
        Assert.Equal(("sts_timeout", 504, "corr-sts_timeout", "detail for sts_timeout"), (error.Code, error.Status, error.CorrelationId, error.Message));
    }

    [Fact]
    public async Task A_502_with_a_problem_code_is_a_misconfiguration_and_not_retried()
    {
        _api.Problem(502, "key_rejected");
        var error = await Assert.ThrowsAsync<TokenVendingException>(() => Client().GetTokenAsync("speech"));
        Assert.Equal("key_rejected", error.Code);
    }

    [Fact]
    public async Task A_bare_502_from_a_gateway_is_retried_and_named_http_502()
    {
        _api.Reply(HttpStatusCode.BadGateway, "<html>Bad Gateway</html>", mediaType: "text/html")
            .Reply(HttpStatusCode.BadGateway, "<html>Bad Gateway</html>", mediaType: "text/html")
            .Reply(HttpStatusCode.BadGateway, "", mediaType: "text/html");
        var error = await Assert.ThrowsAsync<TokenVendingException>(() => Client().GetTokenAsync("speech"));
        Assert.Equal(("http_502", 502), (error.Code, error.Status));
    }

    [Fact]
    public async Task A_404_without_a_problem_body_hints_at_the_API_root()
    {
        _api.Reply(HttpStatusCode.NotFound, "<html>Not found</html>", mediaType: "text/html");
        var error = await Assert.ThrowsAsync<TokenVendingException>(() => Client().GetTokenAsync("speech"));
        Assert.Equal("http_404", error.Code);
        Assert.Contains("apiBaseUrl", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<!doctype html><p>Welcome", "not JSON")]
    [InlineData("[]", "not a JSON object")]
    [InlineData("""{ "tokenType": "Bearer" }""", "accessToken is missing")]
    [InlineData("""{ "accessToken": "x", "tokenType": "Bearer", "expiresOn": "soon", "resource": "r", "kind": "k", "cloud": "c", "region": null, "endpoints": {} }""", "expiresOn")]
    [InlineData("""{ "accessToken": "x", "tokenType": "Bearer", "expiresOn": "2030-01-01T00:00:00Z", "resource": "r", "kind": "k", "cloud": "c", "region": 5, "endpoints": {} }""", "region")]
    [InlineData("""{ "accessToken": "x", "tokenType": "Bearer", "expiresOn": "2030-01-01T00:00:00Z", "resource": "r", "kind": "k", "cloud": "c", "region": null }""", "endpoints")]
    public async Task A_200_that_is_not_a_vended_token_is_invalid_response(string body, string why)
    {
        _api.Reply(HttpStatusCode.OK, body);
        var error = await Assert.ThrowsAsync<TokenVendingException>(() => Client().GetTokenAsync("speech"));
        Assert.Equal(("invalid_response", 200), (error.Code, error.Status));
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hung_attempt_times_out_as_a_network_error_and_is_retried()
    {
        _api.Hang().Token("a");
        var client = Client(new TokenVendingClientOptions { BaseDelay = TimeSpan.Zero, AttemptTimeout = TimeSpan.FromMilliseconds(100) });
        Assert.Equal("ai-token-a", (await client.GetTokenAsync("speech")).AccessToken);
        Assert.Equal(2, _api.Requests.Count);
    }

    [Fact]
    public async Task A_timeout_on_the_last_attempt_is_network_error_with_the_seconds()
    {
        _api.Hang();
        var client = Client(new TokenVendingClientOptions { MaxAttempts = 1, AttemptTimeout = TimeSpan.FromMilliseconds(50) });
        var error = await Assert.ThrowsAsync<TokenVendingException>(() => client.GetTokenAsync("speech"));
        Assert.Equal("network_error", error.Code);
        Assert.Contains("did not answer within 0.05 s", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_access_token_delegate_is_access_token_unavailable_with_no_request()
    {
        var cause = new InvalidOperationException("MSAL needs the user");
        var client = new TokenVendingClient(_http, Api, _ => throw cause);
        var error = await Assert.ThrowsAsync<TokenVendingException>(() => client.GetTokenAsync("speech"));
        Assert.Equal("access_token_unavailable", error.Code);
        Assert.Same(cause, error.InnerException);
        var empty = new TokenVendingClient(_http, Api, _ => ValueTask.FromResult(""));
        Assert.Equal("access_token_unavailable", (await Assert.ThrowsAsync<TokenVendingException>(() => empty.GetTokenAsync("speech"))).Code);
        Assert.Empty(_api.Requests);
    }

    [Fact]
    public async Task A_cancelled_caller_stops_waiting_while_the_shared_request_answers_the_others()
    {
        var release = new TaskCompletionSource();
        _api.Held(release.Task, "a");
        var client = Client();
        using var leaving = new CancellationTokenSource();
        var left = client.GetTokenAsync("speech", cancellationToken: leaving.Token);
        var staying = client.GetTokenAsync("speech");
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => left);
        release.SetResult();
        Assert.Equal("ai-token-a", (await staying).AccessToken);
        Assert.Single(_api.Requests);
    }

    [Fact]
    public async Task When_every_caller_has_cancelled_the_request_is_cancelled_and_the_next_call_starts_afresh()
    {
        var cancelled = new TaskCompletionSource();
        _api.Step(async (_, token) =>
        {
            using var registration = token.Register(() => cancelled.TrySetResult());
            await Task.Delay(Timeout.Infinite, token);
            throw new InvalidOperationException("unreachable");
        }).Token("b");
        var client = Client();
        using var leaving = new CancellationTokenSource();
        var left = client.GetTokenAsync("speech", cancellationToken: leaving.Token);
        while (_api.Requests.Count == 0) await Task.Delay(5);
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => left);
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("ai-token-b", (await client.GetTokenAsync("speech")).AccessToken);
    }

    [Fact]
    public async Task Refreshes_once_less_than_RefreshMargin_is_left_counted_by_the_monotonic_clock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        _api.Token("a").Token("b");
        var client = Client(new TokenVendingClientOptions { TimeProvider = time });
        await client.GetTokenAsync("speech");
        time.Advance(TimeSpan.FromSeconds(539));
        Assert.Equal("ai-token-a", (await client.GetTokenAsync("speech")).AccessToken);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("ai-token-b", (await client.GetTokenAsync("speech")).AccessToken);
    }

    [Fact]
    public async Task A_failed_refresh_drops_the_cached_token()
    {
        _api.Token("a").Problem(403, "forbidden").Token("c");
        var client = Client();
        await client.GetTokenAsync("speech");
        await Assert.ThrowsAsync<TokenVendingException>(() => client.GetTokenAsync("speech", forceRefresh: true));
        Assert.Equal("ai-token-c", (await client.GetTokenAsync("speech")).AccessToken);
    }

    [Fact]
    public async Task Invalidate_forgets_cached_tokens_and_a_request_under_way_is_not_cached()
    {
        var release = new TaskCompletionSource();
        _api.Token("a").Held(release.Task, "b").Token("c");
        var client = Client();
        await client.GetTokenAsync("speech");
        client.Invalidate("speech");
        var underWay = client.GetTokenAsync("speech");
        while (_api.Requests.Count < 2) await Task.Delay(5);
        client.Invalidate();
        release.SetResult();
        Assert.Equal("ai-token-b", (await underWay).AccessToken);
        Assert.Equal("ai-token-c", (await client.GetTokenAsync("speech")).AccessToken);
    }

    [Fact]
    public void Reads_Retry_After_as_seconds_or_an_HTTP_date_else_the_problem_body()
    {
        var now = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using var delta = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        delta.Headers.TryAddWithoutValidation("Retry-After", "7");
        Assert.Equal(TimeSpan.FromSeconds(7), ApiAnswer.Problem(delta, "{}", now).RetryAfter);
        using var date = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        date.Headers.TryAddWithoutValidation("Retry-After", now.AddSeconds(4).ToString("r", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.FromSeconds(4), ApiAnswer.Problem(date, "{}", now).RetryAfter);
        using var hidden = new HttpResponseMessage(HttpStatusCode.TooManyRequests); // cross-origin proxies may drop it
        Assert.Equal(TimeSpan.FromSeconds(9), ApiAnswer.Problem(hidden, """{ "code": "rate_limited", "retryAfterSeconds": 9 }""", now).RetryAfter);
        Assert.Null(ApiAnswer.Problem(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable), "", now).RetryAfter);
    }

    [Fact]
    public void Waits_at_least_Retry_After_else_full_jitter_below_the_doubling_ceiling()
    {
        Assert.Equal(TimeSpan.FromSeconds(4), Retry.Delay(TimeSpan.FromSeconds(4), 1, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30)));
        for (var attempt = 1; attempt <= 8; attempt++)
        {
            var delay = Retry.Delay(null, attempt, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));
            Assert.InRange(delay.TotalMilliseconds, 0, Math.Min(30_000, 500 * Math.Pow(2, attempt - 1)));
        }
    }

    [Fact]
    public async Task Refuses_bad_arguments_with_what_to_change()
    {
        ValueTask<string> Caller(CancellationToken _) => ValueTask.FromResult("entra");
        var relative = Assert.Throws<ArgumentException>(() => new TokenVendingClient(_http, new Uri("/api", UriKind.Relative), Caller));
        Assert.Contains("https://func-x.azurewebsites.net/api", relative.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new TokenVendingClient(_http, new Uri("ftp://func.example/api"), Caller));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenVendingClient(_http, Api, Caller, new TokenVendingClientOptions { MaxAttempts = 0 }));
        await Assert.ThrowsAsync<ArgumentException>(() => Client().GetTokenAsync(""));
    }

    [Fact]
    public void A_token_s_ToString_leaves_the_token_out()
    {
        var token = new VendedToken("secret-ai-token", DateTimeOffset.UnixEpoch, "speech", "speech", "AzureCloud", null, new Dictionary<string, string>());
        Assert.DoesNotContain("secret-ai-token", token.ToString(), StringComparison.Ordinal);
        Assert.Contains("(redacted)", token.ToString(), StringComparison.Ordinal);
    }
}
