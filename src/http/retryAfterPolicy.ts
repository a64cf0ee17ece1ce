import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { retryAfterOf, retryAfterSeconds, RETRY_AFTER_MS_HEADERS } from './retryAfter.js';

/**
 * For an Azure SDK pipeline, placed `perRetry` (nearer the wire than its retry policy). The SDK's
 * throttling retry strategy waits out whatever a 429 or 503 asks for (`retry-after-ms`,
 * `x-ms-retry-after-ms`, `Retry-After`), however long, well past the call's budget, which then
 * ends as a timeout and loses what the upstream said. A wait longer than `maxWaitMs` (or one that
 * cannot be read) is moved aside into `deferredHeader`, as whole seconds capped at
 * `MAX_RETRY_AFTER_MS`: the call fails at once, and its failure carries the capped wait.
 */
export function deferLongRetryAfter(maxWaitMs: number, deferredHeader: string): PipelinePolicy {
  const names = [...RETRY_AFTER_MS_HEADERS, 'retry-after'];
  return {
    name: 'deferLongRetryAfter',
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status !== 429 && response.status !== 503) return response;
      if (!names.some((name) => response.headers.has(name))) return response;
      const waitMs = retryAfterOf(response.headers, Date.now());
      if (waitMs !== undefined && waitMs <= maxWaitMs) return response;
      for (const name of names) response.headers.delete(name);
      if (waitMs !== undefined) response.headers.set(deferredHeader, String(retryAfterSeconds(waitMs)));
      return response;
    },
  };
}
