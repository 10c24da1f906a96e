// Azure AI Search: the production index of the playbooks' passages (hybrid search).
param name string
param location string
param contributorPrincipalId string

resource search 'Microsoft.Search/searchServices@2023-11-01' = {
  name: name
  location: location
  // checkov:skip=CKV_AZURE_208:One replica on Basic keeps a team's bill small; raise replicaCount to 3 for the query and update SLA
  // checkov:skip=CKV_AZURE_209:One replica on Basic keeps the bill small; raise replicaCount to 2 for the query SLA
  sku: { name: 'basic' }
  identity: { type: 'SystemAssigned' }
  properties: {
    replicaCount: 1
    partitionCount: 1
    hostingMode: 'default'
    publicNetworkAccess: 'enabled'
    authOptions: { aadOrApiKey: { aadAuthFailureMode: 'http401WithBearerChallenge' } }
  }
}

// Search Index Data Contributor: the indexer writes passages, the bot reads them.
resource dataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: search
  name: guid(search.id, contributorPrincipalId, '8ebe5a00-799e-43f5-93ac-243d3dce84a7')
  properties: {
    principalId: contributorPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '8ebe5a00-799e-43f5-93ac-243d3dce84a7')
  }
}

// Search Service Contributor: the indexer creates the index on first run.
resource serviceContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: search
  name: guid(search.id, contributorPrincipalId, '7ca78c08-252a-4471-8644-bb5ff32d4ba0')
  properties: {
    principalId: contributorPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7ca78c08-252a-4471-8644-bb5ff32d4ba0')
  }
}

output name string = search.name
output endpoint string = 'https://${search.name}.search.windows.net'
