param name string
@allowed(['speech', 'translator', 'cognitive'])
param kind string
@description('The resource\'s own region; may differ from the resource group\'s.')
param region string
param sku string
param customSubdomain bool
@description('An existing account to use instead of creating one (empty to create).')
param existingResourceId string
param tags object

var accountKinds = { speech: 'SpeechServices', translator: 'TextTranslation', cognitive: 'CognitiveServices' }

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' = if (empty(existingResourceId)) {
  name: name
  location: region
  tags: tags
  kind: accountKinds[kind]
  sku: { name: sku }
  properties: {
    customSubDomainName: customSubdomain ? name : null
    // The vending function exchanges the key; an Entra-only account cannot be vended this way.
    disableLocalAuth: false
    publicNetworkAccess: 'Enabled'
  }
}

output id string = empty(existingResourceId) ? account.id : existingResourceId
