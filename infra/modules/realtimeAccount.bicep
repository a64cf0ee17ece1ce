// An Azure OpenAI account for GPT Realtime, and what the service needs to mint its one-minute keys:
// a custom subdomain (the GA v1 surface, client_secrets and the WebRTC calls, is served there), one
// realtime deployment, and the data role for the function's identity. Keyless: the service mints
// with its managed identity, so no key exists to leak or rotate.
import { resourceTags } from 'types.bicep'

@minLength(2)
@maxLength(64)
@description('Account name, also its custom subdomain: https://<name>.openai.azure.com.')
param name string

@description('A region with GPT Realtime (main.bicep checks it).')
param region string

@description('Deployment name: what the service sends as session.model.')
param deploymentName string

@description('The realtime model and its version, e.g. gpt-realtime 2025-08-28.')
param modelName string
param modelVersion string

@minValue(1)
@description('GlobalStandard capacity, in units of 1,000 tokens per minute of the subscription\'s quota.')
param capacity int

@description('The function\'s identity, given "Cognitive Services OpenAI User" on this account alone.')
param minterPrincipalId string

param tags resourceTags

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' = {
  name: name
  location: region
  tags: tags
  kind: 'OpenAI'
  sku: { name: 'S0' }
  properties: {
    customSubDomainName: name
    // Entra only: a key could mint sessions outside the service's caller checks and limits.
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2025-06-01' = {
  parent: account
  name: deploymentName
  sku: {
    name: 'GlobalStandard'
    capacity: capacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: modelName
      version: modelVersion
    }
  }
}

// Data actions to call the deployment (client_secrets among them), no management rights.
var cognitiveServicesOpenAIUser = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'

resource minter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, minterPrincipalId, cognitiveServicesOpenAIUser)
  scope: account
  properties: {
    principalId: minterPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesOpenAIUser)
  }
}

@description('The custom-subdomain base URL without the trailing slash: TOKEN_RESOURCES endpoint.')
output endpoint string = endsWith(account.properties.endpoint, '/')
  ? take(account.properties.endpoint, length(account.properties.endpoint) - 1)
  : account.properties.endpoint

@description('The deployment\'s name, once it exists: TOKEN_RESOURCES deployment.')
output deploymentName string = deployment.name
