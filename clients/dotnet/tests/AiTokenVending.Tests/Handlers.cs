using System.Net;
using System.Text;

namespace AiTokenVending.Tests;

/// <summary>Passes requests on to the network and records each answer's status (0: no answer).</summary>
public sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly List<int> _statuses = [];

    public int[] Statuses
    {
        get
        {
            lock (_statuses) return [.. _statuses];
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            lock (_statuses) _statuses.Add((int)response.StatusCode);
            return response;
        }
        catch
        {
            lock (_statuses) _statuses.Add(0);
            throw;
        }
    }
}

/// <summary>
/// A scripted API at the HTTP boundary: each request takes the next step. A request with no step
/// left fails the test, and <see cref="AssertDone"/> catches steps never used.
/// </summary>
public sealed class ScriptedApi : HttpMessageHandler
{
    private readonly Queue<Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>> _steps = new();
    private readonly List<HttpRequestMessage> _requests = [];

    public IReadOnlyList<HttpRequestMessage> Requests
    {
        get
        {
            lock (_requests) return [.. _requests];
        }
    }

    public static string TokenBody(string id, int expiresInSeconds = 600, string expiresOn = "2030-01-01T00:10:00Z") => $$"""
        { "accessToken": "ai-token-{{id}}", "tokenType": "Bearer", "expiresOn": "{{expiresOn}}", "expiresInSeconds": {{expiresInSeconds}},
          "resource": "speech", "kind": "speech", "cloud": "AzureCloud", "region": "westeurope",
          "endpoints": { "stt": "wss://westeurope.stt.speech.microsoft.com", "count": 3 },
          "headers": { "text": { "Ocp-Apim-Subscription-Region": "westeurope" } }, "future": true }
        """;

    public ScriptedApi Reply(HttpStatusCode status, string body, Action<HttpResponseMessage>? headers = null, string mediaType = "application/json")
    {
        lock (_steps)
        {
            _steps.Enqueue((_, _) =>
            {
                var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) };
                headers?.Invoke(response);
                return Task.FromResult(response);
            });
        }
        return this;
    }

    public ScriptedApi Token(string id, int expiresInSeconds = 600) => Reply(HttpStatusCode.OK, TokenBody(id, expiresInSeconds));

    public ScriptedApi Problem(int status, string code, Action<HttpResponseMessage>? headers = null, string extra = "") =>
        Reply((HttpStatusCode)status, $$"""{ "status": {{status}}, "title": "t", "detail": "detail for {{code}}", "code": "{{code}}", "correlationId": "corr-{{code}}"{{extra}} }""", headers, "application/problem+json");

    public ScriptedApi Fail() => Step((_, _) => throw new HttpRequestException("Connection refused"));

    /// <summary>Never answers; ends as a real connection would when the request is cancelled.</summary>
    public ScriptedApi Hang() => Step(async (_, cancellationToken) =>
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        throw new InvalidOperationException("unreachable");
    });

    /// <summary>Answers with a token once <paramref name="release"/> completes.</summary>
    public ScriptedApi Held(Task release, string id) => Step(async (_, _) =>
    {
        await release;
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(TokenBody(id)) };
    });

    public ScriptedApi Step(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> step)
    {
        lock (_steps) _steps.Enqueue(step);
        return this;
    }

    public void AssertDone()
    {
        lock (_steps) Assert.True(_steps.Count == 0, $"{_steps.Count} scripted answer(s) never requested");
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>? step;
        lock (_requests) _requests.Add(request);
        lock (_steps) _steps.TryDequeue(out step);
        return step is null
            ? throw new InvalidOperationException($"ScriptedApi: unexpected request to {request.RequestUri}")
            : step(request, cancellationToken);
    }
}
