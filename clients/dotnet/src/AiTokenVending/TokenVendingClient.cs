using System.Net.Http.Headers;

namespace AiTokenVending;

/// <summary>
/// Gets short-lived Azure AI services tokens from the token-vending API
/// (<c>GET {apiBaseUrl}/token/{resource}</c>) for an Entra-signed-in app: cached per resource
/// until shortly before expiry, one request in flight per resource shared by every caller,
/// transient failures retried (honouring <c>Retry-After</c>), every failure a
/// <see cref="TokenVendingException"/> with the API's code. Thread-safe; create one per API and
/// keep it (like the <see cref="HttpClient"/> it uses).
/// </summary>
public sealed class TokenVendingClient
{
    private readonly HttpClient _http;
    private readonly string _tokenRoot;
    private readonly Func<CancellationToken, ValueTask<string>> _getAccessToken;
    private readonly TokenVendingClientOptions _options;
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>Creates a client with the default <see cref="TokenVendingClientOptions"/>.</summary>
    /// <param name="http">The HTTP client to call the API with (from <c>IHttpClientFactory</c>, or one kept for the app's life).</param>
    /// <param name="apiBaseUrl">The API root, <c>https://{app}.azurewebsites.net/api</c>, with or without a trailing slash.</param>
    /// <param name="getAccessToken">The caller's Entra access token <em>for this API</em> (not for Azure AI
    /// services), e.g. MSAL's <c>AcquireTokenSilent(...).ExecuteAsync(ct)).AccessToken</c>. Called before
    /// every request to the API, so keep it cheap (MSAL answers from its cache). Its cancellation
    /// token fires when no caller waits for the request any more. What it throws fails the request
    /// with <c>access_token_unavailable</c> (the exception is the inner one). After a 401 it is
    /// asked once more, and the request is retried if it returns a different token.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="apiBaseUrl"/> is not an absolute http(s) URL.</exception>
    public TokenVendingClient(HttpClient http, Uri apiBaseUrl, Func<CancellationToken, ValueTask<string>> getAccessToken)
        : this(http, apiBaseUrl, getAccessToken, new TokenVendingClientOptions())
    {
    }

    /// <summary>Creates a client.</summary>
    /// <param name="http">The HTTP client to call the API with.</param>
    /// <param name="apiBaseUrl">The API root, <c>https://{app}.azurewebsites.net/api</c>, with or without a trailing slash.</param>
    /// <param name="getAccessToken">The caller's Entra access token for this API (see the other constructor).</param>
    /// <param name="options">Cache margin, retries, timeouts and clock.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="apiBaseUrl"/> is not an absolute http(s) URL.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public TokenVendingClient(
        HttpClient http,
        Uri apiBaseUrl,
        Func<CancellationToken, ValueTask<string>> getAccessToken,
        TokenVendingClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(apiBaseUrl);
        ArgumentNullException.ThrowIfNull(getAccessToken);
        ArgumentNullException.ThrowIfNull(options);
        if (!apiBaseUrl.IsAbsoluteUri || (apiBaseUrl.Scheme != Uri.UriSchemeHttps && apiBaseUrl.Scheme != Uri.UriSchemeHttp))
            throw new ArgumentException("apiBaseUrl must be the API's absolute http(s) root, e.g. https://func-x.azurewebsites.net/api.", nameof(apiBaseUrl));
        options.Validate();
        _http = http;
        _tokenRoot = $"{apiBaseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/')}/token/";
        _getAccessToken = getAccessToken;
        _options = options;
    }

    /// <summary>
    /// A token for <paramref name="resource"/> with more than <see cref="TokenVendingClientOptions.RefreshMargin"/>
    /// left: the cached one, or a new one. Concurrent callers for one resource share one request.
    /// A failed refresh drops the cached token: an expired or refused token is never handed out.
    /// </summary>
    /// <param name="resource">The resource name the API knows (<c>TOKEN_RESOURCES[].name</c>); URL-encoded for you.</param>
    /// <param name="forceRefresh">Skip the cached token, e.g. after Azure AI services refused it. Joins a request already under way.</param>
    /// <param name="cancellationToken">Stops this caller's wait; the request goes on while other callers wait for it.</param>
    /// <returns>The token, with its region and endpoints.</returns>
    /// <exception cref="TokenVendingException">Every failure, after the retries (see <see cref="TokenVendingException.Code"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    /// <exception cref="ArgumentException"><paramref name="resource"/> is null or empty.</exception>
    public async Task<VendedToken> GetTokenAsync(string resource, bool forceRefresh = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(resource);
        cancellationToken.ThrowIfCancellationRequested();
        Slot slot;
        Flight flight;
        lock (_gate)
        {
            if (!_slots.TryGetValue(resource, out slot!))
            {
                slot = new Slot();
                _slots.Add(resource, slot);
            }
            if (forceRefresh) slot.Token = null;
            if (slot.Token is { } cached && cached.Lifetime - _options.TimeProvider.GetElapsedTime(cached.SentAt) > _options.RefreshMargin)
                return cached.Token;
            slot.Flight ??= StartFlight(resource, slot);
            flight = slot.Flight;
            flight.Waiters++;
        }
        try
        {
            return await flight.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            bool abandoned;
            lock (_gate)
            {
                flight.Waiters--;
                abandoned = flight.Waiters == 0 && !flight.Task.IsCompleted && slot.Flight == flight;
                if (abandoned) slot.Flight = null;
            }
            // Nobody waits any more: stop the request (and the access-token delegate) too.
            if (abandoned) await flight.Cancellation.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Drops cached tokens, e.g. on sign-out or an account switch. A request already under way
    /// still answers the callers waiting for it, but its token is not cached.
    /// </summary>
    /// <param name="resource">The resource to forget; <c>null</c> forgets every resource.</param>
    public void Invalidate(string? resource = null)
    {
        lock (_gate)
        {
            foreach (var (name, slot) in _slots)
            {
                if (resource is not null && name != resource) continue;
                slot.Generation++;
                slot.Token = null;
                slot.Flight = null;
            }
        }
    }

    // Called under _gate. Task.Run keeps the access-token delegate and the request off the lock.
    private Flight StartFlight(string resource, Slot slot)
    {
        var generation = ++slot.Generation;
        var cancellation = new CancellationTokenSource();
        var task = Task.Run(async () =>
        {
            try
            {
                var received = await FetchWithRetryAsync(resource, cancellation.Token).ConfigureAwait(false);
                lock (_gate)
                {
                    if (slot.Generation == generation)
                    {
                        slot.Token = received;
                        slot.Flight = null;
                    }
                }
                return received.Token;
            }
            catch
            {
                lock (_gate)
                {
                    // Never hand out a token after a failed refresh: it was close to expiry, or refused.
                    if (slot.Generation == generation)
                    {
                        slot.Token = null;
                        slot.Flight = null;
                    }
                }
                throw;
            }
        }, CancellationToken.None);
        // A flight every caller abandoned may still fail; nobody awaits it, so mark it observed.
        _ = task.ContinueWith(static failed => _ = failed.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return new Flight(task, cancellation);
    }

    private async Task<CachedToken> FetchWithRetryAsync(string resource, CancellationToken cancellationToken)
    {
        var url = new Uri(_tokenRoot + Uri.EscapeDataString(resource));
        string? refused = null;
        TokenVendingException? refusal = null;
        for (var attempt = 1; ; attempt++)
        {
            var bearer = await CallerTokenAsync(cancellationToken).ConfigureAwait(false);
            if (refused is not null && bearer == refused) throw refusal!;
            try
            {
                return await AttemptAsync(url, bearer, cancellationToken).ConfigureAwait(false);
            }
            catch (TokenVendingException error) when (error.Status == 401 && refused is null)
            {
                // Most often the Entra token the app had cached was refused (expired, revoked, wrong
                // audience): ask once more, and retry straight away if the app has a different one.
                refused = bearer;
                refusal = error;
                attempt--;
            }
            catch (TokenVendingException error) when (Retry.IsTransient(error) && attempt < _options.MaxAttempts
                && (error.RetryAfter ?? TimeSpan.Zero) <= _options.MaxDelay)
            {
                var delay = Retry.Delay(error.RetryAfter, attempt, _options.BaseDelay, _options.MaxDelay);
                await Task.Delay(delay, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<string> CallerTokenAsync(CancellationToken cancellationToken)
    {
        string token;
        try
        {
            token = await _getAccessToken(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (TokenVendingException)
        {
            throw;
        }
#pragma warning disable CA1031 // Whatever the app's delegate throws becomes the inner exception.
        catch (Exception error)
#pragma warning restore CA1031
        {
            throw new TokenVendingException(
                "access_token_unavailable",
                "getAccessToken failed: no Entra access token to call the token service with.",
                innerException: error);
        }
        return string.IsNullOrEmpty(token)
            ? throw new TokenVendingException("access_token_unavailable", "getAccessToken returned no Entra access token.")
            : token;
    }

    private async Task<CachedToken> AttemptAsync(Uri url, string bearer, CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        using var timeout = new CancellationTokenSource(_options.AttemptTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        // The API counts expiresInSeconds at some instant between sending and receiving; counting
        // from the send errs on the early side. A monotonic timestamp: the device clock may jump.
        var sentAt = time.GetTimestamp();
        var sentAtLocal = time.GetUtcNow();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw ApiAnswer.Problem(response, body, time.GetUtcNow());
            var received = ApiAnswer.ParseToken(body, sentAtLocal);
            return new CachedToken(received.Token, sentAt, received.Lifetime);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException error)
        {
            // Our attempt timeout, or HttpClient.Timeout: either way a hung connection, worth a retry.
            throw new TokenVendingException(
                "network_error",
                $"The token service at {url} did not answer within {_options.AttemptTimeout.TotalSeconds:0.###} s.",
                innerException: error);
        }
        catch (HttpRequestException error)
        {
            throw new TokenVendingException(
                "network_error",
                $"Could not reach the token service at {url} ({error.Message}). Check the network and apiBaseUrl.",
                innerException: error);
        }
    }

    private sealed class Slot
    {
        public CachedToken? Token { get; set; }

        public Flight? Flight { get; set; }

        /// <summary>Bumped by every new request and by Invalidate: a stale answer never touches the cache.</summary>
        public long Generation { get; set; }
    }

    private sealed class Flight(Task<VendedToken> task, CancellationTokenSource cancellation)
    {
        public Task<VendedToken> Task { get; } = task;

        public CancellationTokenSource Cancellation { get; } = cancellation;

        public int Waiters { get; set; }
    }

    private sealed record CachedToken(VendedToken Token, long SentAt, TimeSpan Lifetime);
}
