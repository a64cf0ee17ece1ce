import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot, startLocalStack, STACK_KEYS, type LocalStack } from '../../devstack/localStack.js';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack();
});
afterAll(async () => {
  await stack.stop();
});

function doctor(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(repositoryRoot(), 'dist', 'src', 'doctor', 'cli.js'), '--settings', stack.settingsPath, ...args],
      {
        env: { PATH: process.env.PATH, ...stack.processEnv },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('npm run doctor', () => {
  it('--help: usage and exit codes, exit 0; an unknown option: the usage, exit 2, no stack trace', async () => {
    const help = await doctor('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain(
      'Usage: npm run doctor -- [--json] [--locate [--all-clouds]] [--token TOKEN|-] [--settings FILE]',
    );
    const unknown = await doctor('--jsn');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^Unknown option '--jsn'/);
    expect(unknown.stderr).toContain('Usage: npm run doctor');
    expect(unknown.stderr).not.toMatch(/TypeError|ERR_PARSE_ARGS|\n\s+at /);
  });

  it('--json: an array of findings on stdout, exit 0 when every resource passes', async () => {
    const result = await doctor('--json');
    expect(result.status).toBe(0);
    // The stack rotates both keys every 30 days: each finding says which key is in use and when the next rotation is.
    const rotation = { keyName: 'key1', since: expect.any(String), ageDays: 0, nextRotationAt: expect.any(String) };
    expect(JSON.parse(result.stdout)).toEqual([
      { resource: '(callers)', ok: true, cause: null, detail: expect.stringContaining('signing keys'), fix: null },
      {
        resource: 'speech',
        ok: true,
        cause: null,
        detail: expect.stringMatching(/accepts the token; key1, 0 days old; next rotation \S+Z$/),
        fix: null,
        rotation,
      },
      { resource: 'translator', ok: true, cause: null, detail: expect.any(String), fix: null, rotation },
      {
        resource: 'assistant',
        ok: true,
        cause: null,
        // The host's real managed-identity credential, through the fake endpoint; one key minted and thrown away.
        detail: expect.stringMatching(
          /^the managed identity has a token for https:\/\/cognitiveservices\.azure\.com; 127\.0\.0\.1:\d+ minted a key for deployment "gpt-realtime" \(model gpt-realtime, voice marin, 60 s; discarded\); callers connect to https:\/\/127\.0\.0\.1:\d+\/openai\/v1\/realtime\/calls\?webrtcfilter=on$/,
        ),
        fix: null,
      },
    ]);
  });

  it('a readable table and exit 1 when a resource fails, never printing the key', async () => {
    const regenerated = '0123456789abcdef0123456789abcdef';
    stack.vault.setSecret('speech-key', regenerated);
    const result = await doctor();
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/speech\s+FAIL key_rejected/);
    expect(result.stdout).toMatch(/translator\s+ok/);
    expect(result.stdout).toContain('fix: Run `npm run doctor -- --locate`');
    expect(result.stdout).toMatch(/assistant\s+ok/);
    expect(result.stdout).toContain('1 of 4 checks failing.');
    for (const key of [...Object.values(STACK_KEYS), regenerated])
      expect(result.stdout + result.stderr).not.toContain(key);
  });

  it('--all-clouds only widens --locate: alone it is refused (exit 2), and no key is sent anywhere', async () => {
    stack.cognitive.resetCalls();
    const result = await doctor('--all-clouds');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--all-clouds widens --locate to every cloud');
    expect(stack.cognitive.calls).toEqual([]);
  });

  it("prints an upstream's message escaped: no terminal control sequence or bidi override reaches the table", async () => {
    stack.vault.setSecret('speech-key', STACK_KEYS.speech);
    stack.cognitive.script('*', { status: 503, message: '\u001b[2J\u001b[32mall good\u202e', times: 20 });
    const result = await doctor();
    stack.cognitive.script('*', { status: 503, times: 0 });
    expect(result.stdout).toMatch(/speech\s+FAIL sts_unavailable/);
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout).not.toContain('\u202e');
    expect(result.stdout).toContain('\\u{001b}[2J\\u{001b}[32mall good\\u{202e}');
  });
});
