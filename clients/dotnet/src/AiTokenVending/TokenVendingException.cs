namespace AiTokenVending;

/// <summary>
/// The one exception <see cref="TokenVendingClient"/> throws (besides
/// <see cref="OperationCanceledException"/> when your cancellation token fires). Branch on
/// <see cref="Code"/>, never on the message; show <see cref="Exception.Message"/>; quote
/// <see cref="CorrelationId"/> when reporting a problem. Never holds a token.
/// </summary>
public sealed class TokenVendingException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">What went wrong, to branch on (see <see cref="Code"/>).</param>
    /// <param name="message">Human-readable, safe to show.</param>
    /// <param name="status">The API's HTTP status; 0 when there was no answer.</param>
    /// <param name="retryAfter">How long to wait before asking again, when the API said.</param>
    /// <param name="correlationId">The API's id for the request, when it answered.</param>
    /// <param name="innerException">The underlying failure (network, your access-token delegate).</param>
    public TokenVendingException(
        string code,
        string message,
        int status = 0,
        TimeSpan? retryAfter = null,
        string? correlationId = null,
        Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        Status = status;
        RetryAfter = retryAfter;
        CorrelationId = correlationId;
    }

    /// <summary>
    /// What went wrong: the client's own <c>network_error</c> (no answer, or an attempt timed out),
    /// <c>invalid_response</c> (a 200 that is not a vended token), <c>access_token_unavailable</c>
    /// (your delegate threw or returned nothing); else the API's problem <c>code</c>
    /// (<c>invalid_token</c>, <c>forbidden</c>, <c>resource_not_found</c>, <c>rate_limited</c>,
    /// <c>key_rejected</c>, <c>sts_unavailable</c>, …), or <c>http_{status}</c> for an answer
    /// without a problem body (a proxy or gateway in between).
    /// </summary>
    public string Code { get; }

    /// <summary>The API's HTTP status (401, 403, 404, 429, 5xx); 0 when no answer arrived.</summary>
    public int Status { get; }

    /// <summary>
    /// From the API's <c>Retry-After</c> (429, some 503s) or its problem body's
    /// <c>retryAfterSeconds</c>: wait at least this long before asking again. <c>null</c> when the
    /// API gave no figure.
    /// </summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The API's <c>correlationId</c> for the request; quote it to the API's operator.</summary>
    public string? CorrelationId { get; }
}
