// The operators' workbook over the app's telemetry: requests per minute by outcome, cache hit
// ratio, upstream latency p50/p95, failures by code, health per resource. The queries live in
// infra/monitoring/workbook.json (test/infra/monitoring.test.ts checks the names they use).
import { resourceTags } from 'types.bicep'

param location string
param tags resourceTags

@description('The Application Insights component the workbook reads.')
param applicationInsightsId string

param displayName string

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsightsId, 'ai-token-vending-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: string(union(loadJsonContent('../monitoring/workbook.json'), { fallbackResourceIds: [applicationInsightsId] }))
  }
}
