targetScope = 'subscription'

metadata description = 'AI token vending: a Flex Consumption function that exchanges Key Vault-held Azure AI keys for short-lived tokens.'

import { aiResource, checkedAiResource, isResourceName, normalizeRegion, realtimeSession } from 'modules/types.bicep'

@minLength(1)
@maxLength(64)
@description('azd environment name: names the resource group and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of the resource group, function app, vault and monitoring; it must offer Flex Consumption. AI resources give their own.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object ID of the deploying user or group (azd sets AZURE_PRINCIPAL_ID). Used only with principalCanReadSecrets.')
param principalId string = ''

@description('Grant principalId Key Vault Secrets User, e.g. to run `npm run doctor` against Azure. Off: no person can read a key.')
param principalCanReadSecrets bool = false

@description('Entra tenant whose callers are accepted (AUTH_TENANT_ID). Empty: the deployment\'s tenant.')
param authTenantId string = tenant().tenantId

@minLength(1)
@description('Accepted aud values (AUTH_AUDIENCES): the API app registration\'s App ID URI (api://<appId>) and/or client ID, comma-separated.')
param authAudiences string

@description('Client applications whose tokens are accepted (AUTH_ALLOWED_CLIENT_APPS): their application (client) IDs, the azp/appid of their tokens, comma-separated. Empty: any application the tenant consented to, a third-party one included.')
param authAllowedClientApps string = ''

@minValue(0)
@description('Token requests per caller per minute on one instance (RATE_LIMIT_PER_MINUTE); 0 turns the limit off.')
param rateLimitPerMinute int = 60

@minLength(1)
@description('App role values that may read GET /api/status (OPERATOR_ROLES), comma-separated. Create the role on the API app registration and assign it to operators.')
param operatorRoles string = 'TokenVending.Operator'

@minLength(1)
@description('When the self-check timer runs (SELF_CHECK_SCHEDULE): NCRONTAB, six fields, UTC. The unhealthy-resource alert assumes the default, every 5 minutes.')
param selfCheckSchedule string = '0 */5 * * * *'

@description('Where operators\' alerts are mailed (an action group). Empty: no action group; the alert rules still fire in the portal.')
param alertEmail string = ''

@description('Browser origins the platform CORS setting allows, e.g. https://app.contoso.com. Empty: no browser origin; * is refused.')
param corsAllowedOrigins string[] = []

@minLength(1)
@description('The Azure AI resources to vend tokens for. Accounts, Key Vault secrets and TOKEN_RESOURCES all come from this list. Default: one Speech resource in location, for callers holding the Speech.Token app role.')
param aiResources aiResource[] = [
  {
    name: 'speech'
    kind: 'speech'
    region: location
    allowedRoles: ['Speech.Token']
    allowedScopes: []
  }
]

@allowed(['F0', 'S0'])
@description('SKU of the AI accounts this template creates (F0: free, one per kind and subscription).')
param aiSku string = 'S0'

@allowed(['key1', 'key2'])
@description('Which of each account\'s two keys the deployment writes into Key Vault. For a rotated key only the first version (rotation takes over); otherwise flip it to rotate by hand: provision, then regenerate the other key.')
param aiKeyName string = 'key1'

@minValue(0)
@maxValue(365)
@description('Rotate the AI keys every this many days (KEY_ROTATION_DAYS): the service regenerates the key not in use and stores it. 0: off. On, the function\'s identity may list and regenerate the keys of the rotated accounts and write their secrets, nothing more.')
param keyRotationDays int = 0

@minLength(11)
@description('When the service checks which keys are due (KEY_ROTATION_SCHEDULE): NCRONTAB, six fields, UTC.')
param keyRotationSchedule string = '0 0 */6 * * *'

@minValue(1)
@maxValue(1440)
@description('How long an instance uses a secret version before reading it again (SECRET_MAX_AGE_MINUTES).')
param secretMaxAgeMinutes int = 60

@description('When this deployment runs: the rotatedAt tag of the first version of a rotated key. Leave the default.')
param deploymentTime string = utcNow()

@allowed(['Enabled', 'Disabled'])
@description('Public network access to the vault. Disabled needs VNet integration and a private endpoint, which this template does not create.')
param keyVaultPublicNetworkAccess string = 'Enabled'

@allowed(['Allow', 'Deny'])
@description('Default action of the vault firewall. Deny needs the function\'s traffic to arrive through a VNet or an allowed address: Flex Consumption has no fixed outbound addresses.')
param keyVaultDefaultAction string = 'Allow'

@description('IPv4 addresses or CIDR ranges let through the vault firewall when keyVaultDefaultAction is Deny.')
param keyVaultAllowedIpRanges string[] = []

@minValue(1)
@maxValue(1000)
@description('Most instances the app scales out to. RATE_LIMIT_PER_MINUTE is per instance, so this also bounds a caller\'s total rate.')
param maximumInstanceCount int = 100

@allowed([512, 2048, 4096])
@description('Memory per instance (MB).')
param instanceMemoryMB int = 2048

@minValue(0)
@maxValue(1000)
@description('Always-ready instances for the HTTP functions: no cold start for the first callers, billed around the clock for their memory (0 = pay per use only).')
param alwaysReadyInstances int = 0

@description('An existing API Management instance to put in front of the function (not Consumption tier: rate-limit-by-key). The API is imported from the OpenAPI document with a per-caller limit across every instance, and the function then takes traffic from API Management only (ApiManagement service tag). Empty: no front door.')
param apiManagementName string = ''

@description('The resource group of apiManagementName. Empty: the one this template creates.')
param apiManagementResourceGroup string = ''

@minValue(1)
@description('Token requests per caller per minute across every instance, enforced by API Management (apiManagementName).')
param apiManagementRateLimitPerMinute int = 60

@description('Deploy an Azure OpenAI account with a GPT Realtime deployment, keyless, and vend one-minute realtime keys for it (TOKEN_RESOURCES kind openai-realtime). Off: nothing realtime is deployed or configured.')
param realtimeEnabled bool = false

@minLength(1)
@maxLength(46)
@description('Name of the realtime resource: the URL /api/token/{name} and part of the account name. Letters, digits and "-".')
param realtimeName string = 'assistant'

@description('Region of the realtime account. GPT Realtime (GA) runs in global deployments in eastus2 and swedencentral only; any other is refused.')
param realtimeLocation string = 'eastus2'

@minLength(1)
@description('Name of the realtime deployment (what the service sends as session.model).')
param realtimeDeploymentName string = 'gpt-realtime'

@minLength(1)
@description('The realtime model to deploy.')
param realtimeModelName string = 'gpt-realtime'

@minLength(1)
@description('Its version.')
param realtimeModelVersion string = '2025-08-28'

@minValue(1)
@description('GlobalStandard capacity of the deployment, in units of 1,000 tokens per minute of the subscription\'s quota.')
param realtimeCapacity int = 10

@description('App roles (roles claim) that may request a realtime key, comma-separated.')
param realtimeAllowedRoles string = 'Realtime.Talk'

@description('Delegated scopes (scp claim) that may request a realtime key, comma-separated. With realtimeAllowedRoles empty too, the deployment is refused: nobody would be granted.')
param realtimeAllowedScopes string = ''

@minValue(0)
@description('Realtime keys per caller per minute (callerLimitPerMinute), over RATE_LIMIT_PER_MINUTE: a realtime minute costs money. 0: RATE_LIMIT_PER_MINUTE alone.')
param realtimeCallerLimitPerMinute int = 6

@description('The system prompt of every realtime session, set by the operator and never shown to or changed by the caller. Empty: none.')
param realtimeInstructions string = ''

@minLength(1)
@description('The voice of every realtime session.')
param realtimeVoice string = 'marin'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var resourceGroupName = '${abbrs.resourcesResourceGroups}${environmentName}'
var vaultName = '${abbrs.keyVaultVaults}${resourceToken}'

// TOKEN_RESOURCES names the cloud the code resolves endpoints in; a cloud it has no table for is refused.
var knownClouds = {
  AzureCloud: 'AzureCloud'
  AzureChinaCloud: 'AzureChinaCloud'
  AzureUSGovernment: 'AzureUSGovernment'
}
// v1.0 access tokens name these hosts as issuer (https://<host>/<tenant>/), as src/clouds/clouds.ts says.
var v1IssuerHosts = {
  AzureCloud: ['sts.windows.net']
  AzureChinaCloud: ['sts.chinacloudapi.cn']
  AzureUSGovernment: ['sts.windows.net', 'login.microsoftonline.us']
}
var cloud = knownClouds[?environment().name] ?? fail('Cloud ${environment().name} is not supported: the service knows the endpoints of AzureCloud, AzureChinaCloud and AzureUSGovernment.')

var resourceNames = map(aiResources, item => toLower(item.name))
var resources = length(union(resourceNames, [])) == length(resourceNames)
  ? map(aiResources, item => checkedAiResource(item))
  : fail('aiResources: names must be unique, ignoring case (they name the URL /api/token/{name} and the secret {name}-key).')

// Where each account lives: created in this resource group, or an existing one anywhere.
var accounts = [
  for item in resources: empty(item.?existingResourceId ?? '')
    ? {
        create: true
        subscriptionId: subscription().subscriptionId
        resourceGroupName: resourceGroupName
        name: toLower('${abbrs.cognitiveServicesAccounts}${item.name}-${resourceToken}')
      }
    : {
        create: false
        subscriptionId: split(item.existingResourceId!, '/')[2]
        resourceGroupName: split(item.existingResourceId!, '/')[4]
        name: split(item.existingResourceId!, '/')[8]
      }
]

// The paired account of each item (failover, docs/failover.md): created in this resource group, or an
// existing one anywhere. An item without one gets `paired: false`, so these lists stay aligned with
// resources (and its scope is harmless: this subscription and group).
var pairs = [
  for item in resources: item.?failover == null
    ? {
        paired: false
        create: false
        region: ''
        subscriptionId: subscription().subscriptionId
        resourceGroupName: resourceGroupName
        name: ''
      }
    : empty(item.failover!.?existingResourceId ?? '')
        ? {
            paired: true
            create: true
            region: item.failover!.region
            subscriptionId: subscription().subscriptionId
            resourceGroupName: resourceGroupName
            // The item's own account name and "-2": unique beside it, within the 64 characters allowed.
            name: toLower('${take('${abbrs.cognitiveServicesAccounts}${item.name}-${resourceToken}', 62)}-2')
          }
        : {
            paired: true
            create: false
            region: item.failover!.region
            subscriptionId: split(item.failover!.existingResourceId!, '/')[2]
            resourceGroupName: split(item.failover!.existingResourceId!, '/')[4]
            name: split(item.failover!.existingResourceId!, '/')[8]
          }
]

// Browsers send the bare origin (scheme://host[:port]); one with a path or a trailing slash never
// matches, and the page sees only "Failed to fetch".
var originsWithPaths = filter(corsAllowedOrigins, origin => origin != '*' && length(split(origin, '/')) != 3)
var allowedOrigins = contains(corsAllowedOrigins, '*')
  ? fail('corsAllowedOrigins: * is refused; list the origins of your apps (https://app.contoso.com).')
  : !empty(originsWithPaths)
      ? fail('corsAllowedOrigins: ${join(originsWithPaths, ', ')} ${length(originsWithPaths) == 1 ? 'is not an origin' : 'are not origins'}: give scheme, host and port only, with no path or trailing slash (https://app.contoso.com), as browsers send it.')
      : corsAllowedOrigins

var alwaysReady = alwaysReadyInstances > maximumInstanceCount
  ? fail('alwaysReadyInstances (${alwaysReadyInstances}) cannot exceed maximumInstanceCount (${maximumInstanceCount}).')
  : alwaysReadyInstances

// Which items' keys the service rotates: those this template creates, and existing accounts that opt
// in with rotate (other apps may use an existing account's keys). The code refuses, at start-up,
// rotation with no resource to rotate, a secret age not shorter than the period, and a schedule
// that is not six fields; so does the deployment, before anything is created.
var rotation = keyRotationDays == 0
  ? false
  : secretMaxAgeMinutes + 5 >= keyRotationDays * 1440
      ? fail('secretMaxAgeMinutes (${secretMaxAgeMinutes}) plus 5 minutes must be shorter than keyRotationDays (${keyRotationDays}): a key is regenerated one period after it was replaced, and instances may hold it that long.')
      : length(split(trim(keyRotationSchedule), ' ')) != 6
          ? fail('keyRotationSchedule "${keyRotationSchedule}" must be NCRONTAB with six fields, seconds first, e.g. "0 0 */6 * * *".')
          : true
var rotated = [for (item, i) in resources: rotation && (item.?rotate ?? accounts[i].create)]
// A paired account is rotated on the same terms as the item's own.
var rotatedPairs = [
  for (item, i) in resources: rotation && pairs[i].paired && (item.?failover.?rotate ?? pairs[i].create)
]
var rotatedAccountIds = concat(
  map(
    filter(range(0, length(resources)), i => rotated[i]),
    i => toLower('${accounts[i].subscriptionId}/${accounts[i].resourceGroupName}/${accounts[i].name}')
  ),
  map(
    filter(range(0, length(resources)), i => rotatedPairs[i]),
    i => toLower('${pairs[i].subscriptionId}/${pairs[i].resourceGroupName}/${pairs[i].name}')
  )
)
var rotatedAccounts = !rotation
  ? []
  : empty(rotatedAccountIds)
      ? fail('keyRotationDays is set, but no aiResources item is rotated: the template rotates the accounts it creates, and existing ones with rotate: true.')
      : length(union(rotatedAccountIds, [])) != length(rotatedAccountIds)
          ? fail('aiResources: two rotated items name the same existing account; one account has one pair of keys, so rotating one secret would break the other.')
          : rotatedAccountIds
// The custom role may be assigned in every subscription that holds a rotated account.
var rotatorScopes = union(
  [subscription().id],
  map(filter(range(0, length(resources)), i => rotated[i]), i => '/subscriptions/${accounts[i].subscriptionId}'),
  map(filter(range(0, length(resources)), i => rotatedPairs[i]), i => '/subscriptions/${pairs[i].subscriptionId}')
)

// The realtime resource, checked before anything is created. GPT Realtime (GA) runs in global
// deployments in these regions of the public cloud only ("Use the GPT Realtime API via WebRTC");
// the code would accept a .us or .cn endpoint, but no region there has the model.
var realtimeRegions = ['eastus2', 'swedencentral']
var realtimeRoles = filter(map(split(realtimeAllowedRoles, ','), role => trim(role)), role => !empty(role))
var realtimeScopes = filter(map(split(realtimeAllowedScopes, ','), scope => trim(scope)), scope => !empty(scope))
var realtimeRegion = !realtimeEnabled
  ? ''
  : cloud != 'AzureCloud'
      ? fail('realtimeEnabled: GPT Realtime runs in ${join(realtimeRegions, ' and ')} of the public cloud only, not in ${cloud}; turn realtimeEnabled off here.')
      : !contains(realtimeRegions, normalizeRegion(realtimeLocation))
          ? fail('realtimeLocation "${realtimeLocation}": GPT Realtime (GA) runs in global deployments in ${join(realtimeRegions, ' and ')} only; choose one of them (the rest of the deployment may stay in ${location}).')
          : !isResourceName(realtimeName)
              ? fail('realtimeName "${realtimeName}": the name may hold letters, digits and "-" only, not at either end (it becomes part of the account name and of the URL).')
              : contains(resourceNames, toLower(realtimeName))
                  ? fail('realtimeName "${realtimeName}" is also an aiResources name; names must be unique, ignoring case (they name the URL /api/token/{name}).')
                  : empty(realtimeRoles) && empty(realtimeScopes)
                      ? fail('realtimeAllowedRoles and realtimeAllowedScopes are both empty: the realtime resource would grant nobody; list app roles and/or delegated scopes (an empty list is refused, not opened to every caller).')
                      : normalizeRegion(realtimeLocation)
var realtimeSessionValue realtimeSession = union(
  empty(realtimeInstructions) ? {} : { instructions: realtimeInstructions },
  { audio: { output: { voice: realtimeVoice } } }
)

var readerPrincipalId = !principalCanReadSecrets
  ? ''
  : empty(principalId) ? fail('principalCanReadSecrets needs principalId (azd sets AZURE_PRINCIPAL_ID).') : principalId

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: resourceGroupName
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

module alerts 'modules/alerts.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: 'alert-${resourceToken}'
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    alertEmail: alertEmail
  }
}

module dashboard 'modules/dashboard.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    displayName: 'AI token vending (${environmentName})'
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
    name: vaultName
    location: location
    tags: tags
    functionPrincipalId: identity.outputs.principalId
    readerPrincipalId: readerPrincipalId
    publicNetworkAccess: keyVaultPublicNetworkAccess
    defaultAction: keyVaultDefaultAction
    allowedIpRanges: keyVaultAllowedIpRanges
  }
}

module newAccounts 'modules/aiAccount.bicep' = [
  for (item, i) in resources: if (accounts[i].create) {
    scope: rg
    name: 'ai-${item.name}'
    params: {
      name: accounts[i].name
      kind: item.kind
      region: item.region
      sku: aiSku
      customSubdomain: item.?customSubdomain ?? false
      tags: tags
    }
  }
]

module newPairs 'modules/aiAccount.bicep' = [
  for (item, i) in resources: if (pairs[i].create) {
    scope: rg
    name: 'ai-${item.name}-failover'
    params: {
      name: pairs[i].name
      kind: item.kind
      region: pairs[i].region
      sku: aiSku
      customSubdomain: item.?failover.?customSubdomain ?? false
      tags: tags
    }
  }
]

module realtime 'modules/realtimeAccount.bicep' = if (realtimeEnabled) {
  scope: rg
  params: {
    name: toLower('${abbrs.cognitiveServicesAccounts}${realtimeName}-${resourceToken}')
    region: realtimeRegion
    deploymentName: realtimeDeploymentName
    modelName: realtimeModelName
    modelVersion: realtimeModelVersion
    capacity: realtimeCapacity
    minterPrincipalId: identity.outputs.principalId
    tags: tags
  }
}

// Exactly the two actions rotation needs, not Cognitive Services Contributor (which may also change and
// delete accounts). A role definition is a tenant-wide object: its name carries the environment and
// its token, so two environments never collide.
resource keyRotatorRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(rotatedAccounts)) {
  name: guid(subscription().id, environmentName, 'ai-key-rotator')
  properties: {
    roleName: 'AI key rotator (${environmentName}, ${resourceToken})'
    description: 'Lists and regenerates the keys of the Azure AI accounts it is assigned on, so the token vending service rotates them.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.CognitiveServices/accounts/listKeys/action'
          'Microsoft.CognitiveServices/accounts/regenerateKey/action'
        ]
        notActions: []
      }
    ]
    assignableScopes: rotatorScopes
  }
}

module rotators 'modules/aiKeyRotator.bicep' = [
  for (item, i) in resources: if (rotated[i]) {
    scope: resourceGroup(accounts[i].subscriptionId, accounts[i].resourceGroupName)
    name: 'rotator-${item.name}'
    params: {
      accountName: accounts[i].name
      principalId: identity.outputs.principalId
      roleDefinitionId: keyRotatorRole.id
    }
    dependsOn: [newAccounts]
  }
]

module pairRotators 'modules/aiKeyRotator.bicep' = [
  for (item, i) in resources: if (rotatedPairs[i]) {
    scope: resourceGroup(pairs[i].subscriptionId, pairs[i].resourceGroupName)
    name: 'rotator-${item.name}-failover'
    params: {
      accountName: pairs[i].name
      principalId: identity.outputs.principalId
      roleDefinitionId: keyRotatorRole.id
    }
    dependsOn: [newPairs]
  }
]

// The paired account's key, in a secret of its own ({name}-key-failover: no item's secret ends so).
module pairKeys 'modules/aiKeySecret.bicep' = [
  for (item, i) in resources: if (pairs[i].paired) {
    scope: rg
    name: 'key-${item.name}-failover'
    params: {
      vaultName: vaultName
      itemName: '${item.name}.failover'
      secretName: '${item.name}-key-failover'
      accountSubscriptionId: pairs[i].subscriptionId
      accountResourceGroupName: pairs[i].resourceGroupName
      accountName: pairs[i].name
      expectedRegion: pairs[i].region
      customSubdomain: item.?failover.?customSubdomain ?? false
      keyName: aiKeyName
      rotated: rotatedPairs[i]
      functionPrincipalId: identity.outputs.principalId
      deploymentTime: deploymentTime
    }
    dependsOn: [vault, newPairs]
  }
]

module keys 'modules/aiKeySecret.bicep' = [
  for (item, i) in resources: {
    scope: rg
    name: 'key-${item.name}'
    params: {
      vaultName: vaultName
      itemName: item.name
      secretName: '${item.name}-key'
      accountSubscriptionId: accounts[i].subscriptionId
      accountResourceGroupName: accounts[i].resourceGroupName
      accountName: accounts[i].name
      expectedRegion: item.region
      customSubdomain: item.?customSubdomain ?? false
      keyName: aiKeyName
      rotated: rotated[i]
      functionPrincipalId: identity.outputs.principalId
      deploymentTime: deploymentTime
    }
    dependsOn: [vault, newAccounts]
  }
]

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
    corsAllowedOrigins: allowedOrigins
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    alwaysReadyInstances: alwaysReady
    authTenantId: empty(authTenantId) ? tenant().tenantId : authTenantId
    authAudiences: authAudiences
    authAllowedClientApps: authAllowedClientApps
    gatewayOnly: !empty(apiManagementName)
    keyVaultUri: vault.outputs.uri
    // Built from the same list as the accounts and the secrets, so the names, regions, cloud and
    // secret names the code is given cannot drift from what was deployed.
    tokenResources: [
      for (item, i) in resources: union(
        {
          name: item.name
          kind: item.kind
          cloud: cloud
          secretName: keys[i].outputs.secretName
          allowedRoles: item.allowedRoles
          allowedScopes: item.allowedScopes
        },
        // The region always: without a private endpoint the Speech REST APIs stay at the regional hosts.
        { region: accounts[i].create ? normalizeRegion(item.region) : keys[i].outputs.region },
        (item.?customSubdomain ?? false) ? { endpoint: keys[i].outputs.endpoint } : {},
        (item.?privateEndpoint ?? false) ? { privateEndpoint: true } : {},
        // The service rotates exactly the resources that name their account.
        rotated[i] ? { resourceId: keys[i].outputs.accountId } : {},
        // The paired account names what differs; endpoint and privateEndpoint always, so it never
        // inherits the item's custom subdomain.
        !pairs[i].paired
          ? {}
          : {
              failover: [
                union(
                  {
                    region: pairs[i].create ? normalizeRegion(pairs[i].region) : pairKeys[i]!.outputs.region
                    secretName: pairKeys[i]!.outputs.secretName
                    endpoint: (item.?failover.?customSubdomain ?? false) ? pairKeys[i]!.outputs.endpoint : null
                    privateEndpoint: item.?failover.?privateEndpoint ?? false
                  },
                  rotatedPairs[i] ? { resourceId: pairKeys[i]!.outputs.accountId } : {}
                )
              ]
            }
      )
    ]
    // The realtime resource in design.md's shape, only when it is deployed.
    realtimeTokenResources: !realtimeEnabled
      ? []
      : [
          union(
            {
              name: realtimeName
              kind: 'openai-realtime'
              cloud: cloud
              endpoint: realtime!.outputs.endpoint
              region: realtimeRegion
              deployment: realtime!.outputs.deploymentName
              session: realtimeSessionValue
              allowedRoles: realtimeRoles
              allowedScopes: realtimeScopes
            },
            realtimeCallerLimitPerMinute > 0 ? { callerLimitPerMinute: realtimeCallerLimitPerMinute } : {}
          )
        ]
    rateLimitPerMinute: rateLimitPerMinute
    keyRotationDays: rotation ? keyRotationDays : 0
    keyRotationSchedule: trim(keyRotationSchedule)
    secretMaxAgeMinutes: secretMaxAgeMinutes
    operatorRoles: operatorRoles
    selfCheckSchedule: selfCheckSchedule
  }
}

module gateway 'modules/apiManagement.bicep' = if (!empty(apiManagementName)) {
  scope: resourceGroup(empty(apiManagementResourceGroup) ? resourceGroupName : apiManagementResourceGroup)
  params: {
    serviceName: apiManagementName
    apiPath: 'token-vending-${environmentName}'
    backendUrl: api.outputs.uri
    tenantId: empty(authTenantId) ? tenant().tenantId : authTenantId
    audiences: map(split(authAudiences, ','), audience => trim(audience))
    loginEndpoint: environment().authentication.loginEndpoint
    v1IssuerHosts: v1IssuerHosts[cloud]
    callsPerMinute: apiManagementRateLimitPerMinute
    corsAllowedOrigins: allowedOrigins
  }
}

// Named as in the azd Functions templates, so their scripts and docs apply here too.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
output SERVICE_API_URI string = api.outputs.uri
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = vault.outputs.uri
output API_MANAGEMENT_URL string = empty(apiManagementName) ? '' : gateway!.outputs.gatewayUrl
