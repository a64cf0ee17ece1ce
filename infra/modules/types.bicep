@export()
@description('One Azure AI resource to vend tokens for. Mirrors an item of TOKEN_RESOURCES.')
type aiResource = {
  @description('Used in the URL /api/token/{name} and as the secret name {name}-key.')
  name: string
  kind: 'speech' | 'translator' | 'cognitive'
  @description('Region of the resource (translator also accepts global).')
  region: string
  @description('App roles that may request it. List at least one role or scope: the app refuses a resource that grants nobody.')
  allowedRoles: string[]
  allowedScopes: string[]
  @description('Use this existing account (its resource ID) instead of creating one; its key is still written by listKeys().')
  existingResourceId: string?
  @description('Create the account with a custom subdomain and vend through it (required behind private endpoints).')
  customSubdomain: bool?
}
