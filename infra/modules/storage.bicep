// Host storage (AzureWebJobsStorage) and the Flex Consumption deployment container, reached only
// through the function's identity: shared keys are off.
import { resourceTags } from 'types.bicep'

@minLength(3)
@maxLength(24)
param name string
param location string
param tags resourceTags

@description('The function\'s identity: Storage Blob Data Owner on this account only.')
param blobDataOwnerPrincipalId string

// HTTP triggers need blobs only (host locks and keys, the deployment package), and so does the key
// rotation: its lease is a blob lease in container key-rotation-leases, which the app creates on first
// use (Storage Blob Data Owner covers creating the container, the blob, leasing it and its metadata).
// Queues are for blob triggers and Durable Functions, tables for Durable Functions: none here, so no
// queue/table roles.
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var deploymentContainerName = 'app-package'

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    accessTier: 'Hot'
    // Flex Consumption without VNet integration reaches its storage over the public endpoint.
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, blobDataOwnerPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: blobDataOwnerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
  }
}

output name string = storage.name
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
