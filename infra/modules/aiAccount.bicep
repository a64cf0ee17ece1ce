// A new Azure AI account. Existing accounts are not declared here: aiKeySecret.bicep reads them where they are.
import { resourceTags } from 'types.bicep'

@minLength(2)
@maxLength(64)
param name string

@allowed(['speech', 'translator', 'cognitive'])
param kind string

@description('The account\'s own region; may differ from the resource group\'s.')
param region string

@allowed(['F0', 'S0'])
param sku string

@description('Give the account a custom subdomain (its name), so tokens can be exchanged at https://<name>.cognitiveservices.azure.com.')
param customSubdomain bool

param tags resourceTags

var accountKinds = {
  speech: 'SpeechServices'
  translator: 'TextTranslation'
  cognitive: 'CognitiveServices'
}

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' = {
  name: name
  location: region
  tags: tags
  kind: accountKinds[kind]
  sku: { name: sku }
  properties: {
    customSubDomainName: customSubdomain ? name : null
    // The service exchanges the key for a token at the account's STS, so key auth must stay on;
    // the key itself lives only in Key Vault.
    disableLocalAuth: false
    publicNetworkAccess: 'Enabled'
  }
}
