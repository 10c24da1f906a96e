// The bot: App Service on Linux, Python 3.11, Always On, health check on /healthz, HTTPS
// only. It runs as the user-assigned identity; secrets come as Key Vault references.
param planName string
param siteName string
param location string
param sku string
param identityId string
param identityClientId string
param insightsConnectionString string
param sqlServerFqdn string
param sqlDatabaseName string
param searchEndpoint string
param openAiEndpoint string
param chatDeployment string
param embeddingDeployment string
param blobSecretUri string
param searchKeySecretUri string
@description('Run the indexer inside the bot (one instance); false when it is its own app.')
param runIndexer bool = true
@description('Instances of the bot: with more than one, the state store moves to Azure SQL (deploy guide, step 4).')
@minValue(1)
param instances int = 1

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: planName
  location: location
  // checkov:skip=CKV_AZURE_225:Zone redundancy needs three instances; the default of one keeps a team's bill small (raise instances, then zoneRedundant)
  kind: 'linux'
  sku: { name: sku, capacity: instances }
  properties: { reserved: true, zoneRedundant: false }
}

var sqlUrl = 'mssql+pyodbc://@${sqlServerFqdn}:1433/${sqlDatabaseName}?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes&TrustServerCertificate=no&Authentication=ActiveDirectoryMsi&UID=${identityClientId}'

resource site 'Microsoft.Web/sites@2023-12-01' = {
  name: siteName
  location: location
  // checkov:skip=CKV_AZURE_222:The Bot Connector calls /api/messages from the internet; every request needs a Bot Framework token
  // checkov:skip=CKV_AZURE_17:Client certificates: the Bot Connector authenticates with a bearer token, it cannot present one
  // checkov:skip=CKV_AZURE_212:One instance by default; the parameter instances raises it and moves the state store to Azure SQL
  // checkov:skip=CKV_AZURE_13:App Service Authentication would refuse the Bot Connector; the bot checks its tokens itself
  kind: 'app,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // checkov:skip=CKV_AZURE_88:Azure Files are not needed, state lives in /home (App Service storage) and the warehouse in Azure SQL
    clientCertEnabled: false // the Bot Connector authenticates with a bearer token instead
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      linuxFxVersion: 'PYTHON|3.11'
      appCommandLine: 'python -m bot.cli serve --no-playground --port 8000' // Oryx installs requirements.txt, not the commercy script
      alwaysOn: true
      healthCheckPath: '/healthz'
      http20Enabled: true
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      remoteDebuggingEnabled: false
      webSocketsEnabled: false
      httpLoggingEnabled: true
      detailedErrorLoggingEnabled: true
      requestTracingEnabled: true
      logsDirectorySizeLimit: 35
      appSettings: [
        { name: 'SCM_DO_BUILD_DURING_DEPLOYMENT', value: 'true' }
        { name: 'WEBSITES_PORT', value: '8000' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insightsConnectionString }
        { name: 'MicrosoftAppType', value: 'UserAssignedMSI' }
        { name: 'MicrosoftAppId', value: identityClientId }
        { name: 'MicrosoftAppTenantId', value: tenant().tenantId }
        { name: 'AZURE_CLIENT_ID', value: identityClientId }
        { name: 'COMMERCY_PUBLIC_URL', value: 'https://${siteName}.azurewebsites.net' }
        { name: 'COMMERCY_DATABASE_URL', value: sqlUrl }
        // One instance keeps its state in a SQLite file on /home; several share Azure SQL.
        { name: 'COMMERCY_STATE_URL', value: instances > 1 ? sqlUrl : 'sqlite:////home/data/state.sqlite3' }
        { name: 'COMMERCY_REPLAY', value: 'false' }
        { name: 'COMMERCY_INDEXER', value: string(runIndexer) }
        { name: 'COMMERCY_INDEXER_STATE_URL', value: 'sqlite:////home/data/indexer.sqlite3' }
        { name: 'COMMERCY_INDEX_URL', value: '${searchEndpoint}/indexes/playbooks' }
        { name: 'COMMERCY_SEARCH_KEY', value: '@Microsoft.KeyVault(SecretUri=${searchKeySecretUri})' }
        { name: 'COMMERCY_BLOB_CONNECTION_STRING', value: '@Microsoft.KeyVault(SecretUri=${blobSecretUri})' }
        { name: 'COMMERCY_BLOB_CONTAINER', value: 'playbooks' }
        { name: 'AZURE_OPENAI_ENDPOINT', value: openAiEndpoint }
        { name: 'AZURE_OPENAI_CHAT_DEPLOYMENT', value: chatDeployment }
        { name: 'AZURE_OPENAI_EMBEDDING_DEPLOYMENT', value: embeddingDeployment }
      ]
    }
  }
}

output hostName string = site.properties.defaultHostName
