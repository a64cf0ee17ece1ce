// Writes one of an AI account's keys into the vault, straight from listKeys(): no person and no output
// ever holds the key. Works for accounts this deployment creates and for existing ones anywhere
// the deployer may call listKeys.
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

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: vaultName
}

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = {
  name: accountName
  scope: resourceGroup(accountSubscriptionId, accountResourceGroupName)
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = {
  parent: vault
  name: secretName
  properties: {
    value: account.listKeys()[keyName]
    contentType: 'text/plain; Azure AI services ${keyName} of ${account.id}'
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

output secretName string = secret.name
