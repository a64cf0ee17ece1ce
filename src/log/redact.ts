import { VendingError } from '../errors/serviceError.js';

/** What stands in for a secret in any text. */
export const REDACTED = '[redacted]';

/**
 * The shortest run of a known secret's characters taken for a quote of it: an upstream may quote a
 * key cut short or change its case. A run this long of a 32- or 84-character random key does not
 * occur by chance in an error message.
 */
const MIN_QUOTED_RUN = 12;

/**
 * Anything shaped like an Azure AI services key (`secrets/keyShape.ts`), known here or not: 32 hex
 * digits, or 84 letters and digits, standing alone. An upstream may quote the account's other key,
 * or another resource's.
 */
const KEY_SHAPES = [
  /(?<![A-Za-z0-9])[0-9A-Fa-f]{32}(?![A-Za-z0-9])/g,
  /(?<![A-Za-z0-9])[A-Za-z0-9]{84}(?![A-Za-z0-9])/g,
];

/**
 * `text` that came from an upstream (an error message, an error code), with every secret in play
 * taken out before it reaches a diagnosis, a log line, telemetry or an answer: each of `secrets`
 * (the key just sent, the value just read), also quoted in part (any run of 12 or more of its
 * characters) or in another case, and anything shaped like a key. Each is replaced by `[redacted]`.
 * Never apply it to a credential: a token may hold a key-shaped run by chance.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  // ASCII only, so that every index of `lower` is the same character's in `text`.
  const asciiLower = (value: string) => value.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
  const lower = asciiLower(text);
  const hidden = new Array<boolean>(text.length).fill(false);
  const hide = (start: number, length: number) => hidden.fill(true, start, start + length);
  const runs = new Set<string>();
  for (const secret of secrets.map((s) => asciiLower(s.trim())).filter((s) => s.length > 0)) {
    if (secret.length < MIN_QUOTED_RUN) {
      for (let at = lower.indexOf(secret); at !== -1; at = lower.indexOf(secret, at + 1)) hide(at, secret.length);
      continue;
    }
    for (let i = 0; i + MIN_QUOTED_RUN <= secret.length; i++) runs.add(secret.slice(i, i + MIN_QUOTED_RUN));
  }
  if (runs.size > 0) {
    for (let i = 0; i + MIN_QUOTED_RUN <= lower.length; i++) {
      if (runs.has(lower.slice(i, i + MIN_QUOTED_RUN))) hide(i, MIN_QUOTED_RUN);
    }
  }
  for (const shape of KEY_SHAPES) {
    for (const match of text.matchAll(shape)) hide(match.index, match[0].length);
  }
  let redacted = '';
  for (let i = 0; i < text.length; i++) {
    if (!hidden[i]) redacted += text.charAt(i);
    else if (i === 0 || !hidden[i - 1]) redacted += REDACTED;
  }
  return redacted;
}

/**
 * The same failure with `redact` applied to all it says (message, detail, diagnosis, fix, the
 * upstream's code). The cause, the raw upstream failure, is left behind: nothing may read a secret
 * out of it later.
 */
export function redactError(error: VendingError, redact: (text: string) => string): VendingError {
  const optional = (text: string | undefined) => (text === undefined ? undefined : redact(text));
  const diagnosis = optional(error.diagnosis);
  const fix = optional(error.fix);
  const upstreamCode = optional(error.upstreamCode);
  return new VendingError(error.code, redact(error.message), {
    detail: redact(error.detail),
    ...(diagnosis === undefined ? {} : { diagnosis }),
    ...(fix === undefined ? {} : { fix }),
    ...(upstreamCode === undefined ? {} : { upstreamCode }),
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    ...(error.allow === undefined ? {} : { allow: error.allow }),
  });
}
