export { TokenVendingError, type ClientErrorCode, type TokenVendingErrorDetails } from './errors.js';
export { parseVendedToken, type VendedToken } from './vendedToken.js';
export {
  createTokenProvider,
  type FetchLike, type GetAccessTokenOptions, type GetTokenOptions, type TokenProvider, type TokenProviderOptions,
} from './tokenProvider.js';
export {
  createSpeechConfig, keepFresh,
  type AuthorizationTokenTarget, type KeepFreshOptions, type SpeechConfigOptions, type SpeechSdkLike, type SpeechService,
} from './speech.js';
