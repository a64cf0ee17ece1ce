import type { ErrorCode } from './catalog.js';

export { ERROR_CODES, type ErrorCode } from './catalog.js';

/** What every failure of ours says beyond its code: the operator's diagnosis and fix, never a key. */
export interface ServiceErrorDetails {
  /** For the operator's log: the full diagnosis, which may name the vault and secret but never a key. */
  readonly diagnosis?: string;
  /** For the operator: what to change. */
  readonly fix?: string;
  readonly cause?: unknown;
}

/**
 * The base of every failure the service names: a stable machine-readable `code` to branch on, and
 * for the operator a diagnosis and a fix. `VendingError` (what callers receive), `RotationError`
 * (key rotation, the operator's only) and `ConfigurationError` (the settings) extend it.
 */
export class ServiceError<Code extends string = string> extends Error {
  readonly diagnosis: string | undefined;
  readonly fix: string | undefined;

  constructor(
    readonly code: Code,
    message: string,
    details: ServiceErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.diagnosis = details.diagnosis;
    this.fix = details.fix;
  }
}

export interface VendingErrorDetails extends ServiceErrorDetails {
  /** Safe to show the caller: no key, vault URL or secret name. Defaults to the message. */
  readonly detail?: string;
  /** Seconds the caller should wait before asking again (`Retry-After`). */
  readonly retryAfterSeconds?: number;
  /** The methods a route serves, for the `Allow` header of a 405. */
  readonly allow?: readonly string[];
  /** The upstream's own error code, for the operator's log when ours is the generic one. */
  readonly upstreamCode?: string;
}

/** A failure a caller receives, as problem+json with the status the catalog gives its code. */
export class VendingError extends ServiceError<ErrorCode> {
  readonly detail: string;
  readonly retryAfterSeconds: number | undefined;
  readonly allow: readonly string[] | undefined;
  readonly upstreamCode: string | undefined;

  constructor(code: ErrorCode, message: string, details: VendingErrorDetails = {}) {
    super(code, message, details);
    this.detail = details.detail ?? message;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.allow = details.allow;
    this.upstreamCode = details.upstreamCode;
  }
}

/** Whatever was thrown, as a VendingError; unknown failures become `internal_error` with nothing leaked. */
export function ensureVendingError(error: unknown): VendingError {
  if (error instanceof VendingError) return error;
  return new VendingError('internal_error', 'An unexpected error occurred.', {
    diagnosis: describeError(error),
    cause: error,
  });
}

/** Whatever was thrown, as one line for an operator's log: `Name: message`, CR/LF folded. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}
