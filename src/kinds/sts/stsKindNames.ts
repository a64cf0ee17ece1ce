import type { StsKindName } from './stsResource.js';

/**
 * Azure's names for the STS kinds: the `kind` of a `Microsoft.CognitiveServices/accounts` resource
 * (the portal's JSON view, `az cognitiveservices account show --query kind`, Bicep). `AIServices`
 * is a Foundry resource, a multi-service account whose key serves Speech and Translator too.
 */
export const STS_KIND_ALIASES: Readonly<Record<string, StsKindName>> = {
  AIServices: 'cognitive',
  CognitiveServices: 'cognitive',
  SpeechServices: 'speech',
  TextTranslation: 'translator',
};

/** Why a single-service account of another kind gets no STS token from this service. */
const NO_STS_TOKEN =
  'its API takes the key (or Entra ID), not an STS token: the Azure AI services authentication reference lists STS access tokens for Speech and Translator (and the multi-service accounts that serve them) only; vend for a "speech", "translator" or "cognitive" (AIServices) resource instead';

/**
 * Account kinds that look close but are not served by the STS kinds, each with why (lower case,
 * as `kind` is matched). Azure OpenAI keys are not exchanged at an STS: GPT Realtime has its own kind.
 */
export const STS_REFUSED_NAMES: Readonly<Record<string, string>> = {
  openai:
    '"kind": "OpenAI" is an Azure OpenAI resource, whose keys are not exchanged at an STS (the speech, translator and cognitive kinds); for GPT Realtime voice sessions use "kind": "openai-realtime" with the resource\'s endpoint and deployment',
  ...Object.fromEntries(
    [
      'ComputerVision',
      'Face',
      'FormRecognizer',
      'TextAnalytics',
      'ContentSafety',
      'ContentModerator',
      'CustomVision.Training',
      'CustomVision.Prediction',
      'ImmersiveReader',
      'LUIS',
      'Personalizer',
      'AnomalyDetector',
      'MetricsAdvisor',
      'QnAMaker',
    ].map((kind) => [kind.toLowerCase(), `"kind": "${kind}" is an Azure AI ${kind} resource: ${NO_STS_TOKEN}`]),
  ),
};
