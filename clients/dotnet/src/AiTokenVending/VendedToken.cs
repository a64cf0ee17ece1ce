namespace AiTokenVending;

/// <summary>
/// What <c>GET {api}/token/{resource}</c> answers: a short-lived Azure AI services token and where
/// to use it. <see cref="ToString"/> leaves the token out, so logging the record leaks nothing.
/// </summary>
/// <param name="AccessToken">The Azure AI services token: send it as <c>Authorization: Bearer …</c>,
/// or give it to the Speech SDK (<c>SpeechConfig.FromAuthorizationToken</c>).</param>
/// <param name="ExpiresOn">When the service stops accepting <paramref name="AccessToken"/> (10 minutes
/// after it was issued), by the API's clock. The client's cache counts from the API's
/// <c>expiresInSeconds</c> instead, so it stays right on a device whose clock is off.</param>
/// <param name="Resource">The resource name the token was asked for (<c>TOKEN_RESOURCES[].name</c>).</param>
/// <param name="Kind"><c>speech</c>, <c>translator</c>, <c>cognitive</c> or <c>openai-realtime</c>.</param>
/// <param name="Cloud"><c>AzureCloud</c>, <c>AzureChinaCloud</c> or <c>AzureUSGovernment</c>.</param>
/// <param name="Region">The region; <c>null</c> for a custom-subdomain resource (use <paramref name="Endpoints"/> then).</param>
/// <param name="Endpoints">Service URLs by name: for Speech <c>stt</c> and <c>tts</c> (WebSocket),
/// <c>sttRest</c>, <c>ttsRest</c>, <c>voicesList</c>; for Translator <c>text</c>; <c>base</c>, the
/// resource's own host, for a custom-subdomain or multi-service resource. Names this client does
/// not know are kept.</param>
public sealed record VendedToken(
    string AccessToken,
    DateTimeOffset ExpiresOn,
    string Resource,
    string Kind,
    string Cloud,
    string? Region,
    IReadOnlyDictionary<string, string> Endpoints)
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> NoHeaders =
        new Dictionary<string, IReadOnlyDictionary<string, string>>();

    /// <summary>Always <c>Bearer</c>.</summary>
    public string TokenType { get; init; } = "Bearer";

    /// <summary>
    /// Headers to send beside the token, by endpoint name, for the few services that need one: a
    /// multi-service or regional Translator resource's <c>text</c> endpoint takes
    /// <c>Ocp-Apim-Subscription-Region</c>. Empty for most tokens; <see cref="RequestHeaders"/> merges it in.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Headers { get; init; } = NoHeaders;

    /// <summary>
    /// The headers a request to one of <see cref="Endpoints"/> needs: <c>Authorization: Bearer …</c>
    /// and any header that service takes beside it (see <see cref="Headers"/>).
    /// </summary>
    /// <param name="endpoint">The endpoint's name in <see cref="Endpoints"/>, such as <c>text</c>.</param>
    /// <returns>Header names and values.</returns>
    public IReadOnlyDictionary<string, string> RequestHeaders(string endpoint)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Authorization"] = $"Bearer {AccessToken}",
        };
        if (Headers.TryGetValue(endpoint, out var extra))
        {
            foreach (var (name, value) in extra)
            {
                headers[name] = value;
            }
        }
        return headers;
    }

    /// <summary>The token's facts without the token itself: safe to log.</summary>
    /// <returns>Resource, kind, cloud, region and expiry.</returns>
    public override string ToString() =>
        $"VendedToken {{ Resource = {Resource}, Kind = {Kind}, Cloud = {Cloud}, Region = {Region ?? "(custom subdomain)"}, ExpiresOn = {ExpiresOn:O}, AccessToken = (redacted) }}";
}
