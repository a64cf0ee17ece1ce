namespace AiTokenVending;

/// <summary>Which failures are worth another attempt, and how long to wait before it.</summary>
internal static class Retry
{
    /// <summary>
    /// The network, a timeout, throttling (429) and the API's 5xx for unavailable upstreams. Not
    /// 400/401/403/404: asking again gets the same answer. A 502 <em>with</em> a problem code is the
    /// API saying the resource is misconfigured (key rejected, …), which no retry fixes; a bare 502
    /// comes from a gateway in between.
    /// </summary>
    public static bool IsTransient(TokenVendingException error) =>
        error.Code == "network_error" || error.Status switch
        {
            408 or 429 or 500 or 503 or 504 => true,
            502 => error.Code == "http_502",
            _ => false,
        };

    /// <summary>
    /// At least what <c>Retry-After</c> asked; else full jitter, a random wait in
    /// [0, base · 2^(attempt-1)] capped at <paramref name="maxDelay"/>, so many clients do not retry in step.
    /// </summary>
    public static TimeSpan Delay(TimeSpan? retryAfter, int attempt, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        var ceiling = Math.Min(maxDelay.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
#pragma warning disable CA5394 // Jitter, not security.
        var backoff = TimeSpan.FromMilliseconds(ceiling * Random.Shared.NextDouble());
#pragma warning restore CA5394
        return retryAfter is { } asked && asked > backoff ? asked : backoff;
    }
}
