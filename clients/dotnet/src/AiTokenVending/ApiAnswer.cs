using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace AiTokenVending;

/// <summary>A parsed 200 answer, with the token's lifetime as this process counts it.</summary>
/// <param name="Token">The token.</param>
/// <param name="Lifetime">From when the request was sent: the API's <c>expiresInSeconds</c> when it
/// sends one (immune to a wrong device clock), else <c>expiresOn</c> minus the local time.</param>
internal sealed record ReceivedToken(VendedToken Token, TimeSpan Lifetime);

/// <summary>Reads the API's answers by hand, field by field (the library has no dependencies).</summary>
internal static class ApiAnswer
{
    /// <summary>Checks a <c>GET /api/token/{resource}</c> body. Unknown fields are ignored, so the API can grow.</summary>
    /// <exception cref="TokenVendingException"><c>invalid_response</c> when the body is not a vended token.</exception>
    public static ReceivedToken ParseToken(string body, DateTimeOffset localNow)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw Invalid("not JSON (is apiBaseUrl the function app's /api?)");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Invalid("not a JSON object");
            var accessToken = RequiredString(root, "accessToken");
            if (String(root, "tokenType") != "Bearer") throw Invalid("tokenType is not \"Bearer\"");
            if (!DateTimeOffset.TryParse(String(root, "expiresOn"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var expiresOn))
                throw Invalid("expiresOn is not an ISO 8601 date");
            var resource = RequiredString(root, "resource");
            var kind = RequiredString(root, "kind");
            var cloud = RequiredString(root, "cloud");
            string? region = null;
            if (root.TryGetProperty("region", out var regionElement) && regionElement.ValueKind != JsonValueKind.Null)
            {
                region = regionElement.ValueKind == JsonValueKind.String ? regionElement.GetString() : null;
                if (string.IsNullOrEmpty(region)) throw Invalid("region is neither a name nor null");
            }
            if (!root.TryGetProperty("endpoints", out var endpointsElement) || endpointsElement.ValueKind != JsonValueKind.Object)
                throw Invalid("endpoints is not an object");
            var endpoints = StringMap(endpointsElement);
            var headers = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
            if (root.TryGetProperty("headers", out var headersElement) && headersElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var entry in headersElement.EnumerateObject())
                {
                    if (entry.Value.ValueKind == JsonValueKind.Object) headers[entry.Name] = StringMap(entry.Value);
                }
            }
            var lifetime = root.TryGetProperty("expiresInSeconds", out var seconds) && seconds.ValueKind == JsonValueKind.Number
                && seconds.TryGetDouble(out var value) && value >= 0 && double.IsFinite(value)
                ? TimeSpan.FromSeconds(value)
                : expiresOn - localNow;
            var token = new VendedToken(accessToken, expiresOn, resource, kind, cloud, region, endpoints) { Headers = headers };
            return new ReceivedToken(token, lifetime);
        }
    }

    /// <summary>The API's problem+json (or whatever a gateway sent) as the exception to throw.</summary>
    public static TokenVendingException Problem(HttpResponseMessage response, string body, DateTimeOffset localNow)
    {
        var status = (int)response.StatusCode;
        string? code = null, detail = null, title = null, correlationId = null;
        double? retryAfterSeconds = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                code = String(root, "code");
                detail = String(root, "detail");
                title = String(root, "title");
                correlationId = String(root, "correlationId");
                if (root.TryGetProperty("retryAfterSeconds", out var retry) && retry.ValueKind == JsonValueKind.Number
                    && retry.TryGetDouble(out var secondsValue) && secondsValue >= 0)
                    retryAfterSeconds = secondsValue;
            }
        }
        catch (JsonException)
        {
            // Not problem+json (a proxy, a gateway, the platform): fall back to the status.
        }
        correlationId ??= response.Headers.TryGetValues("x-correlation-id", out var ids) ? ids.FirstOrDefault() : null;
        var message = !string.IsNullOrEmpty(detail) ? detail
            : !string.IsNullOrEmpty(title) ? title
            : status == 404 ? "The token service answered 404 without a problem body: is apiBaseUrl the API root (https://<app>/api)?"
            : $"The token service answered {status}.";
        var retryAfter = RetryAfter(response.Headers.RetryAfter, localNow)
            ?? (retryAfterSeconds is { } s ? TimeSpan.FromSeconds(s) : null);
        return new TokenVendingException(string.IsNullOrEmpty(code) ? $"http_{status}" : code, message, status, retryAfter, correlationId);
    }

    /// <summary><c>Retry-After</c> as a wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3).</summary>
    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset localNow) =>
        header?.Delta ?? (header?.Date is { } date ? (date > localNow ? date - localNow : TimeSpan.Zero) : null);

    private static Dictionary<string, string> StringMap(JsonElement element)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in element.EnumerateObject())
        {
            if (entry.Value.ValueKind == JsonValueKind.String) map[entry.Name] = entry.Value.GetString()!;
        }
        return map;
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string RequiredString(JsonElement root, string name)
    {
        var value = String(root, name);
        return string.IsNullOrEmpty(value) ? throw Invalid($"{name} is missing") : value;
    }

    private static TokenVendingException Invalid(string why) =>
        new("invalid_response", $"The token service answered with an unexpected body: {why}.", 200);
}
