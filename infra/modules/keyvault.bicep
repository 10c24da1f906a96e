// Key Vault for the secrets managed identity cannot replace: the Blob connection string
// the indexer's BlobSource takes and the AI Search admin key. App settings reference them
// (@Microsoft.KeyVault(SecretUri=...)); the values never appear in app settings.
param name string
param location string
param readerPrincipalId string
param storageAccountName string
param searchServiceName string
param logsWorkspaceId string
@description('When the secrets expire (rotate them before: the deploy guide says how).')
param secretExpiry string = dateTimeAdd(utcNow(), 'P1Y')

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource search 'Microsoft.Search/searchServices@2023-11-01' existing = {
  name: searchServiceName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:App Service resolves Key Vault references over the public endpoint without VNet integration; access is RBAC-only
  // checkov:skip=CKV_AZURE_189:Public network access stays on for App Service Key Vault references without VNet integration; RBAC-only access
  name: name
  location: location
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource blobSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'blob-connection-string'
  properties: {
    contentType: 'text/plain'
    attributes: { exp: dateTimeToEpoch(secretExpiry) }
    value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
  }
}

resource searchKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'search-admin-key'
  properties: {
    contentType: 'text/plain'
    attributes: { exp: dateTimeToEpoch(secretExpiry) }
    value: search.listAdminKeys().primaryKey
  }
}

// Key Vault Secrets User
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, readerPrincipalId, '4633458b-17de-408a-b874-0445c86b69e6')
  properties: {
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: vault
  name: 'to-log-analytics'
  properties: {
    workspaceId: logsWorkspaceId
    logs: [ { categoryGroup: 'audit', enabled: true } ]
  }
}

output blobSecretUri string = blobSecret.properties.secretUri
output searchKeySecretUri string = searchKey.properties.secretUri
