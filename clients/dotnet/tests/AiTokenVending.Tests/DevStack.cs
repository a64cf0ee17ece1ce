using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace AiTokenVending.Tests;

/// <summary>
/// The repository's dev stack (fake Entra, Key Vault and STS, and the local host serving the
/// functions), started once for the collection as <c>node dist/test/client/dotnetStack.js</c>.
/// It stops when its standard input closes, so it cannot outlive this test process.
/// </summary>
public sealed class DevStack : IAsyncLifetime
{
    private static readonly HttpClient ControlHttp = new();
    private readonly StringBuilder _errors = new();
    private Process? _process;
    private Uri? _apiUrl;
    private Uri? _controlUrl;

    /// <summary><c>http://127.0.0.1:PORT/api</c>.</summary>
    public Uri ApiUrl => _apiUrl ?? throw new InvalidOperationException("the dev stack is not started");

    public async Task InitializeAsync()
    {
        var root = RepositoryRoot();
        var script = Path.Combine(root, "dist", "test", "client", "dotnetStack.js");
        if (!File.Exists(script))
            throw new InvalidOperationException($"{script} is missing: run `npm ci && npm run build` at the repository root first (`npm test` and .ci/run do).");
        var start = new ProcessStartInfo("node", [script])
        {
            WorkingDirectory = root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start node");
        _process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is null) return;
            lock (_errors) _errors.AppendLine(line.Data);
        };
        _process.BeginErrorReadLine();
        // Generous: on a busy 2-core machine the host's start-up alone can take seconds.
        var ready = await _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(90));
        if (ready is null)
        {
            await _process.WaitForExitAsync();
            lock (_errors) throw new InvalidOperationException($"the dev stack exited before it listened:\n{_errors}");
        }
        using var answer = JsonDocument.Parse(ready);
        _apiUrl = new Uri(answer.RootElement.GetProperty("apiUrl").GetString()!);
        _controlUrl = new Uri(answer.RootElement.GetProperty("controlUrl").GetString()!);
    }

    /// <summary>
    /// A caller token from the fake Entra ID, accepted by the host: by default with the
    /// <c>Speech.Token</c> role and the <c>Translator.Use</c> scope, and its own <c>oid</c>, so
    /// every caller has its own rate-limit bucket. <paramref name="claims"/> adds or overrides claims.
    /// </summary>
    public async Task<string> CallerTokenAsync(Dictionary<string, object>? claims = null)
    {
        var body = new Dictionary<string, object> { ["oid"] = Guid.NewGuid().ToString() };
        foreach (var (name, value) in claims ?? []) body[name] = value;
        using var response = await ControlHttp.PostAsJsonAsync(new Uri(_controlUrl!, "caller-token"), body);
        response.EnsureSuccessStatusCode();
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return answer.RootElement.GetProperty("token").GetString()!;
    }

    public async Task DisposeAsync()
    {
        if (_process is null) return;
        _process.StandardInput.Close();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await _process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "package.json")) && Directory.Exists(Path.Combine(folder.FullName, "clients", "dotnet")))
                return folder.FullName;
        }
        throw new InvalidOperationException($"no repository root above {AppContext.BaseDirectory}");
    }
}

[CollectionDefinition(Name)]
public sealed class DevStackCollection : ICollectionFixture<DevStack>
{
    public const string Name = "dev stack";
}
