namespace AiTokenVending;

/// <summary>How patiently <see cref="TokenVendingClient"/> asks; every option has a safe default.</summary>
public sealed class TokenVendingClientOptions
{
    /// <summary>
    /// Fetch a new token once less than this is left before expiry: a token handed out must still
    /// be valid when the app connects with it. Default 60 seconds (tokens live 10 minutes).
    /// </summary>
    public TimeSpan RefreshMargin { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Attempts per refresh for transient failures (network, timeout, 408, 429, 5xx); 1 turns
    /// retrying off. The one re-authenticated retry after a 401 does not count. Default 3.
    /// </summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>The first backoff step; it doubles per retry, with full jitter. Default 500 ms.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The longest wait between two attempts. When the API's <c>Retry-After</c> asks for longer,
    /// the exception is thrown at once (with <see cref="TokenVendingException.RetryAfter"/>):
    /// asking earlier than the API said only earns another 429. Default 30 seconds.
    /// </summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long one attempt (request and body) may take before it counts as a network error and is
    /// retried: a hung connection must not hang the app. Default 15 seconds.
    /// </summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The clock and timers, for tests. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        if (RefreshMargin < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RefreshMargin), "RefreshMargin must not be negative.");
        if (MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(MaxAttempts), "MaxAttempts must be at least 1.");
        if (BaseDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(BaseDelay), "BaseDelay must not be negative.");
        if (MaxDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(MaxDelay), "MaxDelay must not be negative.");
        if (AttemptTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(AttemptTimeout), "AttemptTimeout must be positive.");
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
