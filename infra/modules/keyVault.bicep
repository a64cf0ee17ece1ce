// The vault that holds the AI keys: RBAC only, soft delete with purge protection, optional firewall.
import { resourceTags } from 'types.bicep'

@minLength(3)
@maxLength(24)
param name string
param location string
param tags resourceTags

@description('The function\'s identity: Key Vault Secrets User on this vault, nothing broader.')
param functionPrincipalId string

@description('A person or group that may also read the keys (Key Vault Secrets User), e.g. to run `npm run doctor` against Azure. Empty: nobody but the function.')
param readerPrincipalId string

@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string

@allowed(['Allow', 'Deny'])
param defaultAction string

@description('IPv4 addresses or CIDR ranges let through the firewall when defaultAction is Deny.')
param allowedIpRanges string[]

// Read secret values, nothing else (no list of other object types, no writes, no key operations).
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    accessPolicies: []
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: defaultAction
      bypass: 'AzureServices'
      ipRules: [for range in allowedIpRanges: { value: range }]
      virtualNetworkRules: []
    }
  }
}

resource functionSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, functionPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

resource readerSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(readerPrincipalId)) {
  name: guid(vault.id, readerPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: readerPrincipalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
