// The indexer on its own (scale-out): a Container App from the Dockerfile's image running
// `commercy indexer`, which watches the blob container and fills AI Search. No ingress: it
// serves nothing, so it cannot be reached from outside.
param name string
param location string
param image string
param identityId string
param identityClientId string
param logsWorkspaceName string
param searchEndpoint string
param openAiEndpoint string
param embeddingDeployment string
param blobSecretUri string
param searchKeySecretUri string
@description('The registry the image comes from (the identity needs AcrPull on it); empty for a public image.')
param registryServer string = ''

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logsWorkspaceName
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      registries: empty(registryServer) ? [] : [ { server: registryServer, identity: identityId } ]
      secrets: [
        { name: 'blob-connection-string', keyVaultUrl: blobSecretUri, identity: identityId }
        { name: 'search-admin-key', keyVaultUrl: searchKeySecretUri, identity: identityId }
      ]
    }
    template: {
      containers: [
        {
          name: 'indexer'
          image: image
          command: [ 'commercy', 'indexer' ]
          resources: { cpu: json('1.0'), memory: '2Gi' }
          env: [
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'COMMERCY_INDEX_URL', value: '${searchEndpoint}/indexes/playbooks' }
            // Names of Key Vault-backed secrets, not secrets:
            { name: 'COMMERCY_SEARCH_KEY', secretRef: 'search-admin-key' } // checkov:skip=CKV_SECRET_6:a secret's name
            { name: 'COMMERCY_BLOB_CONNECTION_STRING', secretRef: 'blob-connection-string' } // checkov:skip=CKV_SECRET_6:a secret's name
            { name: 'COMMERCY_BLOB_CONTAINER', value: 'playbooks' }
            { name: 'COMMERCY_INDEXER_STATE_URL', value: 'sqlite:////tmp/indexer.sqlite3' }
            { name: 'AZURE_OPENAI_ENDPOINT', value: openAiEndpoint }
            { name: 'AZURE_OPENAI_EMBEDDING_DEPLOYMENT', value: embeddingDeployment }
          ]
        }
      ]
      scale: { minReplicas: 1, maxReplicas: 1 } // one indexer: two would index each file twice
    }
  }
}
