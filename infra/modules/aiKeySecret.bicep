// Writes one of an AI account's keys into the vault, straight from listKeys(): no person and no output
// ever holds the key. Works for accounts this deployment creates and for existing ones anywhere
// the deployer may call listKeys.
//
// A rotated key's secret is written only when it does not exist yet (@onlyIfNotExists): from then
// on the service's rotation writes its versions, and a later deployment, which would write the key
// it read at that moment, must not put back a key the rotation has replaced (and may regenerate
// next, while every instance would be using it). An unrotated key's secret is written on every
// deployment, as aiKeyName says.
import { normalizeRegion } from 'types.bicep'

@description('The vault, in this resource group, that receives the key.')
param vaultName string

@description('The aiResources item, for messages.')
param itemName string

@description('Key Vault secret name; TOKEN_RESOURCES names the same secret.')
param secretName string

param accountSubscriptionId string
param accountResourceGroupName string
param accountName string

@description('The region the item names. An existing account elsewhere fails the deployment instead of being vended at the wrong regional endpoint.')
param expectedRegion string

@description('The item vends through the account\'s custom subdomain.')
param customSubdomain bool

@allowed(['key1', 'key2'])
@description('The account key to store; the other one is free to be regenerated.')
param keyName string

@description('The service rotates this key: write the secret only if it does not exist, and let the function\'s identity write new versions of it.')
param rotated bool

@description('The function\'s identity, given Key Vault Secrets Officer on this secret alone when the key is rotated.')
param functionPrincipalId string

@description('When the deployment runs (ISO 8601): the rotatedAt tag of the version it writes.')
param deploymentTime string

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: vaultName
}

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = {
  name: accountName
  scope: resourceGroup(accountSubscriptionId, accountResourceGroupName)
}

// The tags the service's rotation reads and writes: which key the version holds, and since when.
var rotationTags = {
  keyName: keyName
  rotatedAt: deploymentTime
}

@onlyIfNotExists()
resource firstVersion 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (rotated) {
  parent: vault
  name: secretName
  tags: rotationTags
  properties: {
    value: account.listKeys()[keyName]
    contentType: 'text/plain; Azure AI services ${keyName} of ${account.id}'
  }
}

resource everyVersion 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!rotated) {
  parent: vault
  name: secretName
  tags: rotationTags
  properties: {
    value: account.listKeys()[keyName]
    contentType: 'text/plain; Azure AI services ${keyName} of ${account.id}'
  }
}

// Set secret, on this secret only: the identity keeps Key Vault Secrets User on the vault for reads.
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource rotatorOnSecret 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (rotated) {
  name: guid(firstVersion.id, functionPrincipalId, keyVaultSecretsOfficer)
  scope: firstVersion
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
  }
}

@description('The account\'s region, checked against the item.')
output region string = normalizeRegion(account.location) == normalizeRegion(expectedRegion)
  ? normalizeRegion(account.location)
  : fail('aiResources "${itemName}": account ${accountName} is in ${account.location}, not ${expectedRegion}; a key is only accepted at its own region\'s endpoint.')

@description('The custom-subdomain base URL without the trailing slash, when the item asks for it; else empty.')
output endpoint string = !customSubdomain
  ? ''
  : empty(account.properties.?customSubDomainName ?? '')
      ? fail('aiResources "${itemName}": customSubdomain is true but account ${accountName} has no custom subdomain.')
      : endsWith(account.properties.endpoint, '/')
          ? take(account.properties.endpoint, length(account.properties.endpoint) - 1)
          : account.properties.endpoint

output secretName string = rotated ? firstVersion.name : everyVersion.name

@description('The account\'s ARM ID: TOKEN_RESOURCES resourceId of a rotated key.')
output accountId string = account.id
