// The Function App on Flex Consumption, Node 22, running as the user-assigned identity.
import { realtimeTokenResource, resourceTags, tokenResource } from 'types.bicep'

param name string
param planName string
param location string
param tags resourceTags

@description('Resource ID of the user-assigned identity.')
param identityId string
param identityClientId string

param storageAccountName string
@description('Blob container URL the platform deploys the package from (read through the identity).')
param deploymentContainerUrl string

param applicationInsightsConnectionString string

@description('Origins allowed by the platform CORS setting.')
param corsAllowedOrigins string[]

@description('Take traffic from API Management only (the ApiManagement service tag): an API Management front door is in place, and callers must not go around it.')
param gatewayOnly bool

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@allowed([512, 2048, 4096])
param instanceMemoryMB int

@minValue(0)
@maxValue(1000)
param alwaysReadyInstances int

// The settings src/config/settings.ts reads (APP_SETTING_NAMES). AUTH_AUTHORITY_HOST and
// ARM_ENDPOINT are left to the code, which defaults them by the resources' cloud.
param authTenantId string
param authAudiences string
param authAllowedClientApps string
param keyVaultUri string
param tokenResources tokenResource[]
@description('GPT Realtime resources, after the STS ones in TOKEN_RESOURCES.')
param realtimeTokenResources realtimeTokenResource[]
param rateLimitPerMinute int
param keyRotationDays int
param keyRotationSchedule string
param secretMaxAgeMinutes int
param operatorRoles string
param selfCheckSchedule string

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      cors: { allowedOrigins: corsAllowedOrigins }
      // Behind API Management, the gateway's per-caller limit and token checks are not to be gone
      // around: only API Management's addresses reach the function (timer triggers are unaffected).
      ipSecurityRestrictionsDefaultAction: gatewayOnly ? 'Deny' : 'Allow'
      ipSecurityRestrictions: gatewayOnly
        ? [
            {
              name: 'api-management'
              description: 'Only API Management reaches the function (apiManagementName is set).'
              action: 'Allow'
              tag: 'ServiceTag'
              ipAddress: 'ApiManagement'
              priority: 100
            }
          ]
        : []
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        // One group, `http`, holds every HTTP-triggered function (Flex Consumption always-ready).
        alwaysReady: alwaysReadyInstances > 0 ? [{ name: 'http', instanceCount: alwaysReadyInstances }] : []
      }
      runtime: { name: 'node', version: '22' }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    // Read by the code.
    AUTH_TENANT_ID: authTenantId
    AUTH_AUDIENCES: authAudiences
    AUTH_ALLOWED_CLIENT_APPS: authAllowedClientApps
    KEY_VAULT_URI: keyVaultUri
    TOKEN_RESOURCES: string(concat(tokenResources, realtimeTokenResources))
    RATE_LIMIT_PER_MINUTE: string(rateLimitPerMinute)
    KEY_ROTATION_DAYS: string(keyRotationDays)
    KEY_ROTATION_SCHEDULE: keyRotationSchedule
    SECRET_MAX_AGE_MINUTES: string(secretMaxAgeMinutes)
    OPERATOR_ROLES: operatorRoles
    SELF_CHECK_SCHEDULE: selfCheckSchedule
    // Read by the platform, and by the key rotation for its lease (the same account, the same
    // identity). Host storage through the identity: the account takes no shared keys.
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // Read by @azure/identity: DefaultAzureCredential picks the user-assigned identity by it.
    AZURE_CLIENT_ID: identityClientId
  }
}

resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
