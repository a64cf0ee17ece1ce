// The optional front door: the service's API in an existing API Management instance, imported
// from the OpenAPI document (infra/apim/openapi.json, kept equal to what `npm run build` writes by
// test/infra/apiManagement.test.ts) with the policy of infra/apim/policy.xml: a per-caller limit
// across every instance of the function. The instance is the operator's: a billed, long-lived
// resource this template does not create. rate-limit-by-key needs a tier other than Consumption.

@description('The existing API Management instance, in this module\'s resource group.')
param serviceName string

@description('The API\'s name and its URL path on the gateway: https://<gateway>/<apiPath>/api/token/{resource}.')
param apiPath string

@description('The function app\'s origin, e.g. https://func-abc.azurewebsites.net.')
param backendUrl string

@description('Entra tenant whose callers are accepted (AUTH_TENANT_ID).')
param tenantId string

@minLength(1)
@description('Accepted aud values (AUTH_AUDIENCES).')
param audiences string[]

@description('The cloud\'s Entra login endpoint, environment().authentication.loginEndpoint (ends with /).')
param loginEndpoint string

@description('Hosts of the cloud\'s v1.0 token issuers (https://<host>/<tenant>/), beside the v2.0 one.')
param v1IssuerHosts string[]

@minValue(1)
@description('Token requests per caller per minute, across every instance of the function.')
param callsPerMinute int

@description('Browser origins allowed to call through the gateway (the cors policy answers their preflights). Empty: no cors policy.')
param corsAllowedOrigins string[]

var issuers = concat(
  ['${loginEndpoint}${tenantId}/v2.0'],
  map(v1IssuerHosts, host => 'https://${host}/${tenantId}/')
)
var cors = empty(corsAllowedOrigins)
  ? ''
  : '<cors allow-credentials="false"><allowed-origins>${join(map(corsAllowedOrigins, origin => '<origin>${origin}</origin>'), '')}</allowed-origins><allowed-methods preflight-result-max-age="600"><method>GET</method></allowed-methods><allowed-headers><header>Authorization</header><header>X-Correlation-Id</header></allowed-headers><expose-headers><header>Retry-After</header><header>X-Correlation-Id</header></expose-headers></cors>'
var policy = replace(
  replace(
    replace(
      replace(
        replace(
          loadTextContent('../apim/policy.xml'),
          '__CORS__',
          cors
        ),
        '__OPENID_CONFIG_URL__',
        '${loginEndpoint}${tenantId}/v2.0/.well-known/openid-configuration'
      ),
      '__AUDIENCES__',
      join(map(audiences, audience => '<audience>${audience}</audience>'), '')
    ),
    '__ISSUERS__',
    join(map(issuers, issuer => '<issuer>${issuer}</issuer>'), '')
  ),
  '__CALLS_PER_MINUTE__',
  string(callsPerMinute)
)

resource service 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: serviceName
}

resource tokenVendingApi 'Microsoft.ApiManagement/service/apis@2024-05-01' = {
  parent: service
  name: apiPath
  properties: {
    path: apiPath
    protocols: ['https']
    serviceUrl: backendUrl
    // Callers prove who they are with Entra tokens; a subscription key cannot be kept secret in an app.
    subscriptionRequired: false
    format: 'openapi+json'
    value: loadTextContent('../apim/openapi.json')
  }
}

resource tokenVendingPolicy 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = {
  parent: tokenVendingApi
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: policy
  }
}

output gatewayUrl string = '${service.properties.gatewayUrl}/${apiPath}'
