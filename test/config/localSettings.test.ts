import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLocalSettings } from '../../src/config/localSettings.js';

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'local-settings-'));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

function settingsWithCors(cors: string): string {
  const path = join(directory, 'local.settings.json');
  writeFileSync(path, JSON.stringify({ IsEncrypted: false, Values: {}, Host: { CORS: cors } }));
  return path;
}

describe('Host.CORS holds origins as browsers send them', () => {
  it.each([
    ['a trailing slash', 'https://app.contoso.com/', 'https://app.contoso.com'],
    ['a path', 'http://localhost:5173/demo', 'http://localhost:5173'],
  ])('an origin with %s is refused, with the bare origin suggested', (_, origin, bare) => {
    expect(() => readLocalSettings(settingsWithCors(`https://ok.contoso.com,${origin}`))).toThrow(
      `Host.CORS lists "${origin}" (use "${bare}")`,
    );
  });

  it('bare origins and "*" are taken as they are', () => {
    expect(readLocalSettings(settingsWithCors('https://app.contoso.com, http://localhost:5173')).corsOrigins).toEqual([
      'https://app.contoso.com',
      'http://localhost:5173',
    ]);
    expect(readLocalSettings(settingsWithCors('*')).corsOrigins).toEqual(['*']);
  });
});
