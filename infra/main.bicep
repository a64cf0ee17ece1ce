targetScope = 'subscription'

metadata description = 'AI token vending: a Flex Consumption function that exchanges Key Vault-held Azure AI keys for short-lived tokens.'

import { aiResource } from 'modules/types.bicep'

@minLength(1)
@maxLength(64)
@description('azd environment name; prefixes and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of the resource group, function app, vault and monitoring. AI resources give their own.')
param location string

@description('Object ID of the deploying user; given Key Vault Secrets User so `npm run doctor` works for them. Empty to skip.')
param principalId string = ''

@description('Entra tenant whose callers are accepted (AUTH_TENANT_ID).')
param authTenantId string = tenant().tenantId

@minLength(1)
@description('Accepted aud values (AUTH_AUDIENCES): the API app registration client ID and/or App ID URI, comma-separated.')
param authAudiences string

@minValue(0)
@description('Token requests per caller per minute on one instance (RATE_LIMIT_PER_MINUTE); 0 turns it off.')
param rateLimitPerMinute int = 60

@description('Browser origins allowed by the platform CORS setting. Never * by default.')
param corsAllowedOrigins string[] = []

@description('The Azure AI resources to vend tokens for; TOKEN_RESOURCES is built from this same list.')
param aiResources aiResource[]

@allowed(['F0', 'S0'])
@description('SKU of AI resources this template creates.')
param aiSku string = 'S0'

@allowed(['Enabled', 'Disabled'])
@description('Public network access to the vault. Disabled needs VNet integration and a private endpoint.')
param keyVaultPublicNetworkAccess string = 'Enabled'

@allowed(['Allow', 'Deny'])
@description('Default action of the vault firewall when public access is enabled.')
param keyVaultDefaultAction string = 'Allow'

@description('IPv4 ranges (CIDR) allowed through the vault firewall when the default action is Deny.')
param keyVaultAllowedIpRanges string[] = []

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    metricsPublisherPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    blobDataOwnerPrincipalId: identity.outputs.principalId
  }
}

module vault 'modules/keyVault.bicep' = {
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    secretsUserPrincipalIds: empty(principalId) ? [identity.outputs.principalId] : [identity.outputs.principalId, principalId]
    publicNetworkAccess: keyVaultPublicNetworkAccess
    defaultAction: keyVaultDefaultAction
    allowedIpRanges: keyVaultAllowedIpRanges
  }
}

module accounts 'modules/aiAccount.bicep' = [for item in aiResources: {
  scope: rg
  name: 'ai-${item.name}'
  params: {
    name: '${abbrs.cognitiveServicesAccounts}${item.name}-${resourceToken}'
    kind: item.kind
    region: item.region
    sku: aiSku
    customSubdomain: item.?customSubdomain ?? false
    existingResourceId: item.?existingResourceId ?? ''
    tags: tags
  }
}]

// The key goes straight from listKeys() into the vault: no person and no output ever holds it.
module keys 'modules/aiKeySecret.bicep' = [for (item, i) in aiResources: {
  scope: rg
  name: 'key-${item.name}'
  params: {
    vaultName: vault.outputs.name
    secretName: '${item.name}-key'
    accountId: accounts[i].outputs.id
  }
}]

module api 'modules/functionApp.bicep' = {
  scope: rg
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    corsAllowedOrigins: corsAllowedOrigins
    // Built from the same list as the accounts and secrets, so names, regions, clouds and secret
    // names cannot drift from what the code is told.
    tokenResources: [for (item, i) in aiResources: union({
      name: item.name
      kind: item.kind
      cloud: environment().name
      secretName: keys[i].outputs.secretName
      allowedRoles: item.allowedRoles
      allowedScopes: item.allowedScopes
    }, (item.?customSubdomain ?? false) ? { endpoint: keys[i].outputs.endpoint } : { region: item.region })]
    appSettings: {
      AUTH_TENANT_ID: authTenantId
      AUTH_AUDIENCES: authAudiences
      KEY_VAULT_URI: vault.outputs.uri
      RATE_LIMIT_PER_MINUTE: string(rateLimitPerMinute)
    }
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = vault.outputs.uri
