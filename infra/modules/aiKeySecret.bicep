@description('The vault in this resource group that receives the key.')
param vaultName string
param secretName string
@description('Resource ID of the AI account whose key1 is stored; may be in another resource group or subscription.')
param accountId string

var idParts = split(accountId, '/')

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: vaultName
}

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = {
  name: last(idParts)
  scope: resourceGroup(idParts[2], idParts[4])
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = {
  parent: vault
  name: secretName
  properties: {
    value: account.listKeys().key1
    contentType: 'Azure AI services key (key1) of ${account.name}'
  }
}

output secretName string = secret.name
output endpoint string = endsWith(account.properties.endpoint, '/') ? take(account.properties.endpoint, length(account.properties.endpoint) - 1) : account.properties.endpoint
