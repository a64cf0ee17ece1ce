// Alert rules over the app's own telemetry (the metric and event names of src/telemetry/names.ts;
// test/infra/monitoring.test.ts keeps the queries in step with the code), and an action group that
// mails the operators when alertEmail is set. docs/operations.md "Alerts" says what each alert means and what to do.
import { resourceTags } from 'types.bicep'

param location string
param tags resourceTags

@description('Prefix of the rule names.')
param namePrefix string

@description('The Application Insights component the rules query.')
param applicationInsightsId string

@description('Where alerts are mailed. Empty: no action group; the alerts still fire in the portal.')
param alertEmail string

resource operators 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-operators'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'tokenvending'
    enabled: true
    emailReceivers: [{ name: 'operators', emailAddress: alertEmail, useCommonAlertSchema: true }]
  }
}

var rules = [
  {
    name: 'resource-unhealthy'
    displayName: 'Token vending: a resource unhealthy for 10 minutes'
    description: 'The self-check found a resource unhealthy twice in a row (cause codes in "causes"). The resource_health log line has the fix.'
    severity: 1
    frequency: 'PT5M'
    window: 'PT10M'
    query: loadTextContent('../monitoring/alerts/resource-unhealthy.kql')
    dimensions: ['resource']
  }
  {
    name: 'key-rejected'
    displayName: 'Token vending: the STS rejected a key'
    description: 'key_rejected: the key in Key Vault no longer works at the resource\'s STS (regenerated, or from another resource). Callers fail once the cached token expires.'
    severity: 1
    frequency: 'PT1M'
    window: 'PT5M'
    query: loadTextContent('../monitoring/alerts/key-rejected.kql')
    dimensions: ['resource']
  }
  {
    name: 'rotation-failed'
    displayName: 'Token vending: a key rotation failed'
    description: 'A key rotation failed, or a --leaked rotation was left unfinished (the suspected leaked key still works). The key_rotation_failed or key_rotation_incomplete log line says what the secret holds now, and the fix.'
    severity: 2
    frequency: 'PT5M'
    window: 'PT15M'
    query: loadTextContent('../monitoring/alerts/rotation-failed.kql')
    dimensions: ['resource']
  }
  {
    name: 'token-failures'
    displayName: 'Token vending: over 5% of token requests failing'
    description: 'More than 5% of token requests failed over 15 minutes (at least 20 requests). The workbook\'s "Failures by code" says which.'
    severity: 2
    frequency: 'PT5M'
    window: 'PT15M'
    query: loadTextContent('../monitoring/alerts/token-failures.kql')
    dimensions: []
  }
  {
    name: 'openai-throttled'
    displayName: 'Token vending: Azure OpenAI throttling realtime keys'
    description: 'Azure OpenAI answered 429 to realtime key mints (openai_throttled) at least 3 times in 10 minutes: callers of that resource get 503 with Retry-After. Raise the deployment\'s capacity, or lower callerLimitPerMinute.'
    severity: 2
    frequency: 'PT5M'
    window: 'PT10M'
    query: loadTextContent('../monitoring/alerts/openai-throttled.kql')
    dimensions: ['resource']
  }
  {
    name: 'upstream-unreachable'
    displayName: 'Token vending: Key Vault, an STS or Azure OpenAI unreachable'
    description: 'Calls to Key Vault, an STS or Azure OpenAI got no answer (network, DNS, firewall, timeout). Cached tokens may be hiding it from callers for up to 10 minutes; realtime callers see it at once.'
    severity: 1
    frequency: 'PT5M'
    window: 'PT10M'
    query: loadTextContent('../monitoring/alerts/upstream-unreachable.kql')
    dimensions: ['upstream']
  }
  {
    name: 'fallback-in-use'
    displayName: 'Token vending: a fallback in use for 10 minutes'
    description: 'A resource with failover has been served by a fallback (members in "members") for 10 minutes: callers are fine, the resource itself is not. The failover_member_failed log line says why, with the fix.'
    severity: 2
    frequency: 'PT5M'
    window: 'PT10M'
    query: loadTextContent('../monitoring/alerts/fallback-in-use.kql')
    dimensions: ['resource']
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [applicationInsightsId]
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            dimensions: map(rule.dimensions, name => { name: name, operator: 'Include', values: ['*'] })
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      autoMitigate: true
      actions: { actionGroups: empty(alertEmail) ? [] : [operators.id] }
    }
  }
]
