// Signs in with MSAL.NET (device code flow, so it runs in any terminal), asks the token-vending API
// for a resource's token, and prints what an app would use. Never prints the token itself.
//
//   dotnet run --project samples/ConsoleSample -- \
//     --api https://func-xxxx.azurewebsites.net/api --client-id <public client app id> \
//     --tenant <tenant id> --scope api://<api>/Tokens.Request --resource speech
using AiTokenVending;
using Microsoft.Identity.Client;

var settings = Settings.Parse(args);
if (settings is null)
{
    Console.Error.WriteLine("usage: ConsoleSample --api <https://app/api> --client-id <id> --tenant <id> --scope <api scope> [--resource speech]");
    return 2;
}

var msal = PublicClientApplicationBuilder.Create(settings.ClientId)
    .WithAuthority(AzureCloudInstance.AzurePublic, settings.Tenant)
    .WithDefaultRedirectUri()
    .Build();
string[] scopes = [settings.Scope];

// The caller's token for the API: MSAL's cache first; the device code flow when it needs the user.
async ValueTask<string> GetAccessToken(CancellationToken cancellationToken)
{
    var account = (await msal.GetAccountsAsync()).FirstOrDefault();
    try
    {
        if (account is not null)
            return (await msal.AcquireTokenSilent(scopes, account).ExecuteAsync(cancellationToken)).AccessToken;
    }
    catch (MsalUiRequiredException)
    {
        // Consent, MFA or an expired session: fall through to the interactive flow.
    }
    var result = await msal.AcquireTokenWithDeviceCode(scopes, code =>
    {
        Console.WriteLine(code.Message);
        return Task.CompletedTask;
    }).ExecuteAsync(cancellationToken);
    return result.AccessToken;
}

using var http = new HttpClient();
var client = new TokenVendingClient(http, settings.Api, GetAccessToken);
try
{
    var token = await client.GetTokenAsync(settings.Resource);
    Console.WriteLine(token); // the record's ToString leaves the token out
    foreach (var (name, url) in token.Endpoints) Console.WriteLine($"  {name,-12} {url}");
    return 0;
}
catch (TokenVendingException error)
{
    Console.Error.WriteLine($"{error.Code} ({error.Status}): {error.Message}");
    if (error.RetryAfter is { } wait) Console.Error.WriteLine($"  try again in {wait.TotalSeconds:0} s");
    if (error.CorrelationId is { } id) Console.Error.WriteLine($"  correlation id {id}");
    return 1;
}

internal sealed record Settings(Uri Api, string ClientId, string Tenant, string Scope, string Resource)
{
    public static Settings? Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2) values[args[i]] = args[i + 1];
        return values.TryGetValue("--api", out var api) && Uri.TryCreate(api, UriKind.Absolute, out var apiUrl)
            && values.TryGetValue("--client-id", out var clientId)
            && values.TryGetValue("--tenant", out var tenant)
            && values.TryGetValue("--scope", out var scope)
            ? new Settings(apiUrl, clientId, tenant, scope, values.GetValueOrDefault("--resource", "speech"))
            : null;
    }
}
