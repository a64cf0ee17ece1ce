import {
  AggregateAuthenticationErrorName,
  AuthenticationErrorName,
  CredentialUnavailableErrorName,
} from '@azure/identity';

const CREDENTIAL_ERRORS: ReadonlySet<string> = new Set([
  CredentialUnavailableErrorName,
  AuthenticationErrorName,
  AggregateAuthenticationErrorName,
]);

/** Whether the app's credential, rather than the service called, failed: no token was obtained. */
export function isCredentialError(error: unknown): error is Error {
  return error instanceof Error && CREDENTIAL_ERRORS.has(error.name);
}
