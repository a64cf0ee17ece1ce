import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  repositoryRoot,
  STACK_ACCOUNT_IDS,
  STACK_KEYS,
  startLocalStack,
  type LocalStack,
} from '../../devstack/localStack.js';
import { LEASE_CONTAINER } from '../../src/rotation/rotationLease.js';
import { fetchConforming } from '../support/contract.js';

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npm run rotate` as a process of its own, against the stack's settings, identity and CA. */
function start(stack: LocalStack, ...args: string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(
    process.execPath,
    [join(repositoryRoot(), 'dist', 'src', 'rotation', 'cli.js'), '--settings', stack.settingsPath, ...args],
    { env: { PATH: process.env.PATH, ...stack.processEnv } },
  );
  const done = new Promise<Run>((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
  return { child, done };
}

function rotate(stack: LocalStack, ...args: string[]): Promise<Run> {
  return start(stack, ...args).done;
}

function expectNoStackKeys(stack: LocalStack, text: string): void {
  for (const key of [...Object.values(STACK_KEYS), ...stack.arm.everyKey()]) expect(text).not.toContain(key);
}

async function tokenStatus(stack: LocalStack): Promise<number> {
  const response = await fetchConforming(`${stack.apiUrl}/token/speech`, {
    headers: { Authorization: `Bearer ${await stack.callerToken()}` },
  });
  return response.status;
}

async function stsAccepts(stack: LocalStack, key: string): Promise<boolean> {
  const response = await fetch(`${stack.cognitive.url}/sts/v1.0/issueToken`, {
    method: 'POST',
    headers: { 'Ocp-Apim-Subscription-Key': key },
  });
  await response.body?.cancel();
  return response.status === 200;
}

describe('npm run rotate', () => {
  let stack: LocalStack;
  const seen: string[] = [];
  beforeAll(async () => {
    stack = await startLocalStack();
  });
  afterAll(async () => {
    await stack.stop();
    expectNoStackKeys(stack, [...seen, ...stack.hostOutput].join('\n'));
  });

  async function run(...args: string[]): Promise<Run> {
    const result = await rotate(stack, ...args);
    seen.push(result.stdout, result.stderr);
    return result;
  }

  it('--dry-run --json: the array of outcomes, exit 0, nothing changed', async () => {
    const result = await run('--dry-run', '--leaked', '--json');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      {
        resource: 'speech',
        action: 'would_rotate',
        keyName: 'key1',
        reason:
          'dry run: would regenerate key2 and store it in secret "speech-key", then regenerate key1; nothing was changed',
      },
      expect.objectContaining({ resource: 'translator', action: 'would_rotate', keyName: 'key1' }),
    ]);
    expect(stack.arm.calls.map((c) => c.operation)).toEqual(['listKeys', 'listKeys']);
    expect(stack.vault.writes).toEqual({ put: 0, patch: 0 });
  });

  it('--dry-run in the table: "would rotate", the table alone on stdout', async () => {
    const result = await run('--dry-run', '--leaked');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^speech\s+would rotate \(key1\)\s+dry run: would regenerate key2/m);
    expect(result.stdout).not.toContain('{"');
  });

  it('--help: the options and exit codes, exit 0; an unknown option: the same usage, exit 2, no stack trace', async () => {
    const help = await run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: npm run rotate -- [--resource NAME]');
    expect(help.stdout).toContain(
      '--dry-run         read and decide, change nothing (results would_rotate, would_repair)',
    );
    const typo = await run('--dryrun');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/^Unknown option '--dryrun'/);
    expect(typo.stderr).toContain('Usage: npm run rotate');
    expect(typo.stderr).not.toMatch(/TypeError|\n\s+at /);
  });

  it('asks only for the settings rotation reads: no AUTH_TENANT_ID or AUTH_AUDIENCES needed', async () => {
    const settings = JSON.parse(readFileSync(stack.settingsPath, 'utf8')) as { Values: Record<string, string> };
    const values = Object.fromEntries(Object.entries(settings.Values).filter(([name]) => !name.startsWith('AUTH_')));
    const path = join(stack.directory, 'rotation-only.settings.json');
    writeFileSync(path, JSON.stringify({ ...settings, Values: values }));
    const result = await run('--settings', path, '--json');
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as { action: string }[]).map((o) => o.action)).toEqual(['skipped', 'skipped']);
  });

  it('a failure that usually passes tells the operator to run it again, not to wait for the timer', async () => {
    stack.arm.failNext(3, { status: 503 }, 'listKeys');
    const result = await run('--resource', 'translator', '--now', '--json');
    expect(result.status).toBe(1);
    const [outcome] = JSON.parse(result.stdout) as { code: string; fix: string }[];
    expect(outcome?.code).toBe('rotation_arm_unavailable');
    expect(outcome?.fix).toMatch(/^Usually passing: run `npm run rotate` again in a few minutes\. /);
    expect(outcome?.fix).not.toContain('next scheduled run');
  });

  it('without a flag: nothing is due yet, exit 0', async () => {
    const result = await run('--json');
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as { action: string; reason: string }[]).map((o) => o.action)).toEqual([
      'skipped',
      'skipped',
    ]);
  });

  it('--resource speech --leaked: rotated; no key from before works, and the host keeps serving tokens', async () => {
    expect(await tokenStatus(stack)).toBe(200);
    const before = stack.arm.keys(STACK_ACCOUNT_IDS.speech);
    const result = await run('--resource', 'speech', '--leaked', '--json');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      {
        resource: 'speech',
        action: 'rotated',
        keyName: 'key2',
        reason: expect.stringContaining('no key from before works'),
      },
    ]);
    // The log lines go to stderr, stdout holds the array alone.
    expect(result.stderr).toMatch(
      /"event":"key_rotated","resource":"speech","keyName":"key2","secret":"speech-key","version":"[0-9a-f]{32}","mode":"leaked"/,
    );
    expect(await stsAccepts(stack, before.key1)).toBe(false);
    expect(await stsAccepts(stack, before.key2)).toBe(false);
    expect(stack.vault.versions('speech-key').at(-1)?.value).toBe(stack.arm.keys(STACK_ACCOUNT_IDS.speech).key2);
    // The host still holds the token from before; a token from the new key is vended when it is due.
    expect(await tokenStatus(stack)).toBe(200);
  });

  it('a failure: exit 1, its code, diagnosis and fix, in the table and in --json', async () => {
    stack.arm.deny(STACK_ACCOUNT_IDS.translator, 'regenerateKey');
    const table = await run('--resource', 'translator', '--leaked');
    expect(table.status).toBe(1);
    expect(table.stdout).toMatch(
      /translator\s+FAILED rotation_permission_missing\s+regenerateKey on .*translator-sandbox: Azure Resource Manager answered 403 \(AuthorizationFailed\)/,
    );
    expect(table.stdout).toContain(
      "fix: Give the function's identity the actions Microsoft.CognitiveServices/accounts/listKeys/action",
    );
    expect(table.stdout).toContain('1 of 1 failed.');
    // The log follows the table on stderr, never inside it.
    expect(table.stderr).toMatch(/^\nLog \(JSON lines, as the timer writes them\):\n\{/);
    expect(table.stderr).toContain('"event":"key_rotation_failed"');
    expect(table.stdout).not.toContain('"event"');
    const json = await run('--resource', 'translator', '--leaked', '--json');
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual([
      {
        resource: 'translator',
        action: 'failed',
        code: 'rotation_permission_missing',
        detail: expect.any(String),
        fix: expect.any(String),
      },
    ]);
    stack.arm.allowAll();
  });

  it('refuses what it cannot do before calling anything: exit 2', async () => {
    const both = await run('--now', '--leaked');
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('--now and --leaked exclude each other');
    const unknown = await run('--resource', 'nope');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain(
      'No resource "nope" in TOKEN_RESOURCES; the resources are speech, translator, assistant.',
    );
    const typo = await run('--leakd');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('Usage: npm run rotate');
    const repairing = await run('--repair', '--leaked');
    expect(repairing.status).toBe(2);
    expect(repairing.stderr).toContain('--repair rotates nothing');
  });

  it('while another rotator holds the lease: exit 3, nothing changed, and the table says who holds it', async () => {
    const held = stack.arm.holdNext('regenerateKey');
    const first = start(stack, '--resource', 'speech', '--leaked', '--json');
    await held.arrived;
    const versions = stack.vault.versions('speech-key').length;
    const busy = await run('--resource', 'speech', '--now');
    expect(busy.status).toBe(3);
    expect(busy.stdout).toMatch(
      new RegExp(
        `speech\\s+BUSY rotation_lease_held\\s+the rotation lease of .*speech-sandbox is held by npm run rotate on host ${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} pid ${first.child.pid ?? 0}, since [0-9T:.-]+Z, mode leaked; this run changed nothing`,
      ),
    );
    expect(busy.stdout).toContain('1 left alone: another rotator holds the lease (exit code 3).');
    expect(stack.vault.versions('speech-key')).toHaveLength(versions);
    held.release();
    expect((await first.done).status).toBe(0);
  });

  it("the issue's reproduction, with A killed after its regenerateKey took effect: --repair puts the account's working key back", async () => {
    // The secret is due (31 days old); A, a scheduled run, lists the keys and is held at its regenerateKey.
    const keys = stack.arm.keys(STACK_ACCOUNT_IDS.speech);
    stack.vault.setSecret('speech-key', keys.key2, {
      tags: { keyName: 'key2', rotatedAt: new Date(Date.now() - 31 * 86_400_000).toISOString() },
    });
    const beforeEffect = stack.arm.holdNext('regenerateKey');
    const a = start(stack, '--resource', 'speech');
    await beforeEffect.arrived;
    // A stalls past its lease; B runs --leaked from start to end.
    stack.blob.expireLease(LEASE_CONTAINER, STACK_ACCOUNT_IDS.speech.toLowerCase().slice(1));
    const b = await run('--resource', 'speech', '--leaked', '--json');
    expect(b.status).toBe(0);
    const stored = stack.vault.versions('speech-key').at(-1);
    // A's regeneration takes effect (the key B stored dies), and A is killed before it hears back.
    const afterEffect = stack.arm.holdNext('regenerateKey', { afterEffect: true });
    beforeEffect.release();
    await afterEffect.arrived;
    a.child.kill('SIGKILL');
    expect((await a.done).status).toBe(null);
    afterEffect.release();
    expect(await stsAccepts(stack, stored?.value ?? '')).toBe(false);

    const repaired = await run('--resource', 'speech', '--repair', '--json');
    expect(repaired.status).toBe(0);
    expect(JSON.parse(repaired.stdout)).toEqual([
      {
        resource: 'speech',
        action: 'repaired',
        keyName: 'key1',
        reason: expect.stringMatching(
          /^the secret held a key the account no longer has: stored key1 \(version [0-9a-f]{32}\)/,
        ),
      },
    ]);
    const latest = stack.vault.versions('speech-key').at(-1);
    expect(latest?.value).toBe(stack.arm.keys(STACK_ACCOUNT_IDS.speech).key1);
    expect(await stsAccepts(stack, latest?.value ?? '')).toBe(true);
    expect(await tokenStatus(stack)).toBe(200);
    const again = await run('--resource', 'speech', '--repair');
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/speech\s+skipped \(key1\)\s+nothing to repair/);
  });
});

describe("npm run dev's host runs the key-rotation timer", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ settings: { KEY_ROTATION_DAYS: '1', KEY_ROTATION_SCHEDULE: '* * * * * *' } });
  });
  afterAll(async () => {
    await stack.stop();
    expectNoStackKeys(stack, stack.hostOutput.join('\n'));
  });

  it('rotates a key that is due on its next tick, through the managed identity and ARM, and keeps serving', async () => {
    expect(await tokenStatus(stack)).toBe(200);
    const before = stack.arm.keys(STACK_ACCOUNT_IDS.speech);
    // A version rotated two days ago: due with KEY_ROTATION_DAYS 1.
    stack.vault.setSecret('speech-key', STACK_KEYS.speech, {
      tags: { keyName: 'key1', rotatedAt: new Date(Date.now() - 2 * 86_400_000).toISOString() },
    });
    // Bounded: the timer ticks every second.
    await expect
      .poll(() => stack.hostOutput.some((line) => line.includes('"event":"key_rotated"')), {
        timeout: 10_000,
        interval: 100,
      })
      .toBe(true);
    const line = stack.hostOutput.find((l) => l.includes('"event":"key_rotated"')) ?? '';
    expect(JSON.parse(line)).toMatchObject({
      resource: 'speech',
      keyName: 'key2',
      mode: 'due',
      invocationId: expect.any(String),
    });
    const after = stack.arm.keys(STACK_ACCOUNT_IDS.speech);
    expect(after.key1).toBe(before.key1);
    expect(stack.vault.versions('speech-key').at(-1)).toMatchObject({ value: after.key2, tags: { keyName: 'key2' } });
    // The translator's secret was tagged as rotated now: not due, left alone.
    expect(stack.vault.versions('translator-key')).toHaveLength(1);
    expect(await tokenStatus(stack)).toBe(200);
    expect(stack.hostOutput.join('\n')).not.toContain('key_rotation_failed');
  });
});
