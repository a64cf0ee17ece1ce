import { describe, expect, it } from 'vitest';
import { Logger } from '../../src/log/logger.js';
import { logList, logValue, MAX_LOG_LIST_LENGTH, MAX_LOG_VALUE_LENGTH } from '../../src/log/logValue.js';

describe('logValue', () => {
  it.each([
    ['a right-to-left override', 'admin\u202etxt.exe', 'admin\\u{202e}txt.exe'],
    ['an isolate', '\u2066x\u2069', '\\u{2066}x\\u{2069}'],
    ['CR/LF', 'a\r\nb', 'a\\u{000d}\\u{000a}b'],
    ['NUL, ESC and DEL', '\u0000\u001b[31m\u007f', '\\u{0000}\\u{001b}[31m\\u{007f}'],
    ['a C1 control (NEL)', 'a\u0085b', 'a\\u{0085}b'],
    ['line and paragraph separators', '\u2028\u2029', '\\u{2028}\\u{2029}'],
    ['zero-width characters', 'a\u200bb\ufeff', 'a\\u{200b}b\\u{feff}'],
    ['a lone surrogate', 'a\ud800b', 'a\\u{d800}b'],
  ])('writes out %s', (_, input, logged) => {
    expect(logValue(input)).toBe(logged);
  });

  it('keeps ordinary text, accents and emoji as they are', () => {
    expect(logValue('speech-key in https://kv.vault.azure.net: "Zoë" 😀')).toBe(
      'speech-key in https://kv.vault.azure.net: "Zoë" 😀',
    );
  });

  it('cuts a long value, saying how much was dropped, without splitting a surrogate pair', () => {
    expect(logValue('x'.repeat(5000))).toBe(`${'x'.repeat(MAX_LOG_VALUE_LENGTH)}…(+4000 characters)`);
    expect(logValue(`${'x'.repeat(MAX_LOG_VALUE_LENGTH - 1)}😀`)).toBe(`${'x'.repeat(999)}…(+2 characters)`);
  });

  it('bounds lists', () => {
    const many = Array.from({ length: 80 }, (_, i) => `Role.${i}`);
    expect(logList(many)).toHaveLength(MAX_LOG_LIST_LENGTH + 1);
    expect(logList(many).at(-1)).toBe('…(+30 more)');
  });
});

describe('Logger', () => {
  it('escapes and bounds every string field, its own fields included, on one line', () => {
    const lines: string[] = [];
    const logger = new Logger((_, line) => lines.push(line), { correlationId: 'c\u202e1' });
    logger.warn('request', {
      diagnosis: 'upstream said: "\u202eevil\r\n{"level":"error"}"',
      roles: ['A', 'B\u2066'],
      status: 401,
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\r\n\u202e\u2066]/);
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      level: 'warn',
      event: 'request',
      correlationId: 'c\\u{202e}1',
      diagnosis: 'upstream said: "\\u{202e}evil\\u{000d}\\u{000a}{"level":"error"}"',
      roles: ['A', 'B\\u{2066}'],
      status: 401,
    });
  });
});
