export {
  createTokenProvider, parseVendedToken, TokenVendingError,
  type GetAccessTokenOptions, type GetTokenOptions, type TokenProvider, type TokenProviderOptions, type VendedToken,
} from './tokenProvider.js';
export { createSpeechConfig, keepFresh, type KeepFreshOptions, type SpeechConfigLike, type SpeechSdkLike } from './speech.js';
