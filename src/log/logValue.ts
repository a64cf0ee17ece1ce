/** Longest string a log line keeps of one value: every diagnosis fits, a flood does not. */
export const MAX_LOG_VALUE_LENGTH = 1000;

/** Longest list a log line keeps of one value. */
export const MAX_LOG_LIST_LENGTH = 50;

/**
 * Characters that change how a line reads rather than what it says: controls (`Cc`: CR, LF, ESC,
 * the C1 set), format characters (`Cf`: bidirectional marks, embeddings, overrides and isolates,
 * such as `\u202e`, which turns the rest of a line around; zero-width and invisible characters),
 * line and paragraph separators, and lone surrogates. JSON.stringify escapes only C0 controls.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/**
 * A string as it may go into a log line, whoever wrote it (a caller, a claim, an upstream's error
 * message): unsafe characters written out as `\u{…}`, and the value cut at `max` characters with
 * the number dropped said.
 */
export function logValue(value: string, max = MAX_LOG_VALUE_LENGTH): string {
  let kept = value;
  let dropped = 0;
  if (value.length > max) {
    // Never cut a surrogate pair in two.
    const end = /[\ud800-\udbff]/.test(value.charAt(max - 1)) ? max - 1 : max;
    kept = value.slice(0, end);
    dropped = value.length - end;
  }
  const escaped = kept.replace(UNSAFE, (char) => `\\u{${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}}`);
  return dropped === 0 ? escaped : `${escaped}…(+${dropped} characters)`;
}

/** A list for a log line: each item as `logValue`, at most `MAX_LOG_LIST_LENGTH` of them. */
export function logList(values: readonly string[]): string[] {
  const kept = values.slice(0, MAX_LOG_LIST_LENGTH).map((value) => logValue(value));
  return values.length > MAX_LOG_LIST_LENGTH ? [...kept, `…(+${values.length - MAX_LOG_LIST_LENGTH} more)`] : kept;
}
