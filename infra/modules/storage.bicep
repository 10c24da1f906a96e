// Blob storage for the PDF playbooks people upload: the indexer watches the container.
param name string
param location string
param containerName string = 'playbooks'
@description('Principal that reads the PDFs (the app identity).')
param readerPrincipalId string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  // checkov:skip=CKV_AZURE_35:App Service reaches the account over its public endpoint; a private endpoint needs the VNet layout of the scale-out guide
  // checkov:skip=CKV_AZURE_59:Public network access is on for the same reason; blobs stay private (allowBlobPublicAccess false, TLS 1.2, Entra or Key Vault-held key)
  kind: 'StorageV2'
  sku: { name: 'Standard_GRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: true // the indexer's BlobSource takes a connection string (Key Vault)
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 14 }
    containerDeleteRetentionPolicy: { enabled: true, days: 14 }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: containerName
  properties: { publicAccess: 'None' }
}

// Storage Blob Data Reader
resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: account
  name: guid(account.id, readerPrincipalId, '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1')
  properties: {
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1')
  }
}

output name string = account.name
output containerName string = container.name
