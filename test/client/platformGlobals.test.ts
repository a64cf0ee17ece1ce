import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * React Native (and any other runtime) needs to provide only fetch, AbortController,
 * setTimeout/clearTimeout, Date and URL: checked on the built package, the code apps get.
 */
const dist = join(import.meta.dirname, '..', '..', 'packages', 'client', 'dist');
const PLATFORM = ['AbortController', 'URL', 'clearTimeout', 'fetch', 'setTimeout'];

/** Both builds: the ESM one and the CommonJS one React Native's older tooling loads. */
function builtFiles(): string[] {
  return ['esm', 'cjs'].flatMap((build) => {
    const folder = join(dist, build);
    if (!existsSync(join(folder, 'index.js'))) throw new Error(`${folder} is missing: run npm run build first`);
    return readdirSync(folder)
      .filter((name) => name.endsWith('.js'))
      .map((name) => join(folder, name));
  });
}

describe('the built client needs only the platform React Native provides', () => {
  it('names no global beyond ECMAScript 2022 and fetch, AbortController, timers, URL, in either build', () => {
    // The compiler as the scanner: with only the ES2022 library, every other global the code
    // names, on any path, is a "Cannot find name" (Date, Math, JSON, Promise are ES2022).
    const program = ts.createProgram(builtFiles(), {
      allowJs: true,
      checkJs: true,
      noEmit: true,
      lib: ['lib.es2022.d.ts'],
      types: [],
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
    });
    const globals = new Set<string>();
    for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
      if (!diagnostic.file?.fileName.endsWith('.js')) continue;
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      const name =
        /^Cannot find name '([^']+)'/.exec(message)?.[1] ??
        (message.includes('typeof globalThis') ? message : undefined);
      if (name !== undefined) globals.add(name);
    }
    expect([...globals].sort()).toEqual(PLATFORM);
  });

  it('runs in a node:vm context whose only host globals are those', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--experimental-vm-modules',
      '--no-warnings',
      join(import.meta.dirname, 'platformProbe.mjs'),
      join(dist, 'esm'),
    ]);
    expect(JSON.parse(stdout)).toEqual({
      first: 'ai-token-a', // after a 503 retried on the platform's timers
      cached: 'ai-token-a',
      requests: 2,
      url: 'https://func.example/api/token/speech',
      subscribed: ['ai-token-a', 'ai-token-b', 'ai-token-d'],
      afterReauth: 'ai-token-b',
      forced: [false, false, false, true],
      abort: 'TokenVendingError:aborted',
      timeout: 'TokenVendingError:network_error',
      forbidden: 'TokenVendingError:forbidden',
      speechConfig: {
        made: 'endpoint wss://speech-x.cognitiveservices.azure.com/stt/speech/recognition/conversation/cognitiveservices/v1',
        authorizationToken: 'ai-token-c',
      },
      keepFresh: 'ai-token-d',
    });
  });
});
