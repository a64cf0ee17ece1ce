// Lets the function's identity list and regenerate one AI account's keys (the custom role main.bicep
// defines), on that account alone. Deployed in the account's own resource group, which may be in
// another subscription for an existing account.

param accountName string

@description('The function\'s identity.')
param principalId string

@description('The custom role with exactly listKeys and regenerateKey.')
param roleDefinitionId string

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = {
  name: accountName
}

resource rotator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, roleDefinitionId)
  scope: account
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleDefinitionId
  }
}
