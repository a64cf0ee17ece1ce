// Types and checks shared by main.bicep and its modules.

@export()
@description('Tags applied to every resource.')
type resourceTags = { *: string }

@export()
@description('One Azure AI resource to vend tokens for. TOKEN_RESOURCES, the account and its Key Vault secret all come from this one item.')
type aiResource = {
  @minLength(1)
  @maxLength(46) // cog-<name>-<13-char token> must fit the 64-character account name
  @description('Letters, digits and "-". Used in the URL /api/token/{name}, the account name and the secret name {name}-key.')
  name: string

  kind: 'speech' | 'translator' | 'cognitive'

  @minLength(1)
  @description('Region of the account, as on its Keys and Endpoint page (e.g. westeurope; translator also accepts global). May differ from the resource group\'s.')
  region: string

  @description('App roles (roles claim) that may request it.')
  allowedRoles: string[]

  @description('Delegated scopes (scp claim) that may request it. List at least one role or scope: an item that grants nobody is refused.')
  allowedScopes: string[]

  @description('Resource ID of an existing account to vend for instead of creating one. Its key is still written by listKeys(), so the deployer needs listKeys on it.')
  existingResourceId: string?

  @description('Vend through the account\'s custom subdomain (https://<name>.cognitiveservices.azure.com) instead of the regional endpoint; needed behind private endpoints.')
  customSubdomain: bool?

  @description('The account is reached through a private endpoint (created outside this template), so its Speech REST APIs are served under the custom subdomain too. Needs customSubdomain.')
  privateEndpoint: bool?

  @description('With keyRotationDays > 0: rotate this account\'s keys. Default: true for an account this template creates, false for an existingResourceId (other apps may use its keys; set true once the service is their only user).')
  rotate: bool?

  @description('A paired account in a second region that serves this name while this one cannot (TOKEN_RESOURCES failover, docs/failover.md): created here, or an existing one. Its key goes into the secret {name}-key-failover; the function\'s identity gets the same roles on it as on this one.')
  failover: aiResourcePair?
}

@export()
@description('The paired account of an aiResources item: its own region, the same kind, the item\'s name, roles and scopes.')
type aiResourcePair = {
  @minLength(1)
  @description('Region of the paired account: another region than the item\'s own.')
  region: string

  @description('Resource ID of an existing account to pair instead of creating one (in region).')
  existingResourceId: string?

  @description('Vend through the paired account\'s custom subdomain.')
  customSubdomain: bool?

  @description('The paired account is reached through a private endpoint. Needs customSubdomain.')
  privateEndpoint: bool?

  @description('With keyRotationDays > 0: rotate the paired account\'s keys. Default as for the item: true when created here.')
  rotate: bool?
}

@export()
@description('One item of the TOKEN_RESOURCES app setting, in the shape src/config/settings.ts parses: the region, and the custom subdomain when there is one.')
type tokenResource = {
  name: string
  kind: 'speech' | 'translator' | 'cognitive'
  cloud: 'AzureCloud' | 'AzureChinaCloud' | 'AzureUSGovernment'
  region: string
  endpoint: string?
  privateEndpoint: bool?
  secretName: string
  allowedRoles: string[]
  allowedScopes: string[]
  resourceId: string?
  @description('The paired account, naming only what differs (TOKEN_RESOURCES failover).')
  failover: tokenResourceFallback[]?
}

@export()
@description('A fallback of a TOKEN_RESOURCES item: what differs from the item; the rest is inherited.')
type tokenResourceFallback = {
  region: string
  endpoint: string?
  privateEndpoint: bool?
  secretName: string
  resourceId: string?
}

@export()
@description('The operator\'s part of a GPT Realtime session, sent with every mint; never the caller\'s to change.')
type realtimeSession = {
  @description('The system prompt. Absent: the model\'s default behaviour.')
  instructions: string?

  audio: {
    output: {
      @description('The voice the model speaks with (marin, cedar, alloy, …).')
      voice: string
    }
  }
}

@export()
@description('An openai-realtime item of TOKEN_RESOURCES, in the shape design.md ("Credential kinds") gives it.')
type realtimeTokenResource = {
  name: string
  kind: 'openai-realtime'
  cloud: 'AzureCloud' | 'AzureChinaCloud' | 'AzureUSGovernment'
  @description('The account\'s custom-subdomain base URL (https://<name>.openai.azure.com), no trailing slash.')
  endpoint: string
  region: string
  deployment: string
  session: realtimeSession
  allowedRoles: string[]
  allowedScopes: string[]
  @description('Mints per caller per minute for this resource, over RATE_LIMIT_PER_MINUTE. Absent: that setting alone.')
  callerLimitPerMinute: int?
}

@export()
@description('Region names as ARM writes them: lower case, no spaces.')
func normalizeRegion(region string) string => toLower(replace(region, ' ', ''))

// Characters of the name that an account name, a Key Vault secret name or the URL would refuse.
func invalidNameChars(name string) string[] =>
  filter(map(range(0, length(name)), i => substring(name, i, 1)), c => !contains('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-', c))

@export()
@description('Whether a resource name may become an account name, a Key Vault secret name and part of the URL: letters, digits and "-", not at either end.')
func isResourceName(name string) bool => empty(invalidNameChars(name)) && !startsWith(name, '-') && !endsWith(name, '-')

@export()
@description('The item unchanged, or a deployment failure naming what is wrong with it. The app refuses the same items at start-up; failing here stops them before anything is created.')
func checkedAiResource(item aiResource) aiResource =>
  empty(item.allowedRoles) && empty(item.allowedScopes)
    ? fail('aiResources "${item.name}" grants nobody: list app roles in allowedRoles and/or delegated scopes in allowedScopes (an empty list is refused, not opened to every caller).')
    : !isResourceName(item.name)
        ? fail('aiResources "${item.name}": the name may hold letters, digits and "-" only, not at either end (it becomes an account name, a Key Vault secret name and part of the URL).')
        : !empty(item.?existingResourceId ?? '') && !isAccountId(item.?existingResourceId ?? '')
            ? fail('aiResources "${item.name}": existingResourceId must be an account ID, /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>.')
            : (item.?privateEndpoint ?? false) && !(item.?customSubdomain ?? false)
                ? fail('aiResources "${item.name}": privateEndpoint needs customSubdomain (a private endpoint serves the account\'s custom subdomain).')
                : (item.?privateEndpoint ?? false) && item.kind == 'translator'
                    ? fail('aiResources "${item.name}": Translator takes no access tokens from a resource behind a private endpoint or with selected networks (Translator v3 reference, "Virtual Network support"); leave privateEndpoint out if the account allows all networks, or do not vend for it.')
                    : checkedPair(item)

// The paired account (failover) of an item, checked like the item: another region, an account ID, a
// private endpoint only with the custom subdomain.
func checkedPair(item aiResource) aiResource =>
  item.?failover == null
    ? item
    : normalizeRegion(item.failover!.region) == normalizeRegion(item.region)
        ? fail('aiResources "${item.name}": failover.region is ${item.region}, the item\'s own; a paired account serves when the item\'s region cannot, so it must be in another region.')
        : !empty(item.failover!.?existingResourceId ?? '') && !isAccountId(item.failover!.?existingResourceId ?? '')
            ? fail('aiResources "${item.name}": failover.existingResourceId must be an account ID, /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>.')
            : (item.failover!.?privateEndpoint ?? false) && !(item.failover!.?customSubdomain ?? false)
                ? fail('aiResources "${item.name}": failover.privateEndpoint needs failover.customSubdomain.')
                : (item.failover!.?privateEndpoint ?? false) && item.kind == 'translator'
                    ? fail('aiResources "${item.name}": failover.privateEndpoint is refused for Translator, which takes no access tokens behind a private endpoint.')
                    : item

func isAccountId(id string) bool =>
  length(split(id, '/')) == 9 && toLower(join(take(skip(split(id, '/'), 5), 3), '/')) == 'providers/microsoft.cognitiveservices/accounts'
