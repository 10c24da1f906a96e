// Commercy on Azure: the bot (App Service, Linux, Python 3.11) registered as an Azure Bot
// with the Teams channel, the warehouse on Azure SQL (a new server, or the team's existing
// one), PDFs in Blob storage, Azure AI Search, Azure OpenAI, Key Vault for the secrets that
// remain, Application Insights. One user-assigned managed identity is the bot's Microsoft
// App ID (no client secret) and signs in to SQL, OpenAI, Search, Storage and Key Vault.
//
//   az deployment group create -g RG -f infra/main.bicep -p infra/main.parameters.json
targetScope = 'resourceGroup'

@description('Short lowercase prefix for resource names (3-11 letters or digits).')
@minLength(3)
@maxLength(11)
param prefix string = 'commercy'

param location string = resourceGroup().location

@description('Azure OpenAI and AI Search regions when they differ from the rest.')
param openAiLocation string = location

@description('Existing Azure SQL logical server that holds ga_data; empty creates one.')
param existingSqlServerName string = ''

@description('Database that holds the ga_data tables.')
param sqlDatabaseName string = 'commercy'

@description('Object id of the Microsoft Entra group that administers a new SQL server.')
param sqlAdminGroupObjectId string

@description('Display name of that group.')
param sqlAdminGroupName string

@description('Who gets SQL threat-detection mail besides the subscription admins.')
param sqlAlertEmails array = []

@description('Chat and embedding model deployments.')
param chatModel string = 'gpt-4o-mini'
param chatModelVersion string = '2024-07-18'
param embeddingModel string = 'text-embedding-3-small'
param embeddingModelVersion string = '1'

@description('App Service plan SKU: P0v3 and up keep Always On and zone options.')
param appServiceSku string = 'P0v3'

@description('Bot instances; more than one keeps the bot state in Azure SQL (deploy guide, step 4).')
@minValue(1)
param botInstances int = 1

@description('Run the indexer as its own Container App (image from the Dockerfile); false runs it inside the bot.')
param indexerAsContainerApp bool = false

@description('The container image for the indexer, e.g. myregistry.azurecr.io/commercy:1.0.0.')
param indexerImage string = ''

@description('Its registry (e.g. myregistry.azurecr.io); the app identity needs AcrPull there.')
param indexerRegistry string = ''

var suffix = uniqueString(resourceGroup().id)
var names = {
  identity: '${prefix}-id'
  logs: '${prefix}-logs-${suffix}'
  insights: '${prefix}-ai-${suffix}'
  vault: take('${prefix}kv${suffix}', 24)
  storage: take('${prefix}st${suffix}', 24)
  search: '${prefix}-search-${suffix}'
  openai: '${prefix}-openai-${suffix}'
  sql: '${prefix}-sql-${suffix}'
  plan: '${prefix}-plan-${suffix}'
  web: '${prefix}-bot-${suffix}'
  bot: '${prefix}-bot-${suffix}'
  indexer: '${prefix}-indexer'
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: { name: names.identity, location: location }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: { logsName: names.logs, insightsName: names.insights, location: location }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    readerPrincipalId: identity.outputs.principalId
  }
}

module search 'modules/search.bicep' = {
  name: 'search'
  params: {
    name: names.search
    location: openAiLocation
    contributorPrincipalId: identity.outputs.principalId
  }
}

module openai 'modules/openai.bicep' = {
  name: 'openai'
  params: {
    name: names.openai
    location: openAiLocation
    chatModel: chatModel
    chatModelVersion: chatModelVersion
    embeddingModel: embeddingModel
    embeddingModelVersion: embeddingModelVersion
    userPrincipalId: identity.outputs.principalId
  }
}

module sqlServer 'modules/sqlserver.bicep' = if (empty(existingSqlServerName)) {
  name: 'sqlserver'
  params: {
    name: names.sql
    location: location
    adminGroupObjectId: sqlAdminGroupObjectId
    adminGroupName: sqlAdminGroupName
  }
}

module sql 'modules/sqldatabase.bicep' = {
  name: 'sqldatabase'
  params: {
    serverName: empty(existingSqlServerName) ? names.sql : existingSqlServerName
    databaseName: sqlDatabaseName
    location: location
    logsWorkspaceId: monitoring.outputs.workspaceId
    alertEmails: sqlAlertEmails
  }
  dependsOn: [ sqlServer ]
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: names.vault
    location: location
    readerPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    searchServiceName: search.outputs.name
    logsWorkspaceId: monitoring.outputs.workspaceId
  }
}

module web 'modules/appservice.bicep' = {
  name: 'appservice'
  params: {
    planName: names.plan
    siteName: names.web
    location: location
    sku: appServiceSku
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    insightsConnectionString: monitoring.outputs.connectionString
    sqlServerFqdn: sql.outputs.fqdn
    sqlDatabaseName: sqlDatabaseName
    searchEndpoint: search.outputs.endpoint
    openAiEndpoint: openai.outputs.endpoint
    chatDeployment: openai.outputs.chatDeployment
    embeddingDeployment: openai.outputs.embeddingDeployment
    blobSecretUri: vault.outputs.blobSecretUri
    searchKeySecretUri: vault.outputs.searchKeySecretUri
    runIndexer: !indexerAsContainerApp
    instances: botInstances
  }
}

module bot 'modules/bot.bicep' = {
  name: 'bot'
  params: {
    name: names.bot
    endpoint: 'https://${web.outputs.hostName}/api/messages'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    insightsAppId: monitoring.outputs.appId
  }
}

module indexer 'modules/indexer.bicep' = if (indexerAsContainerApp) {
  name: 'indexer'
  params: {
    name: names.indexer
    location: location
    image: indexerImage
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    logsWorkspaceName: names.logs
    searchEndpoint: search.outputs.endpoint
    openAiEndpoint: openai.outputs.endpoint
    embeddingDeployment: openai.outputs.embeddingDeployment
    blobSecretUri: vault.outputs.blobSecretUri
    searchKeySecretUri: vault.outputs.searchKeySecretUri
    registryServer: indexerRegistry
  }
}

output botHostName string = web.outputs.hostName
output microsoftAppId string = identity.outputs.clientId
output packageCommand string = 'commercy package --bot-id ${identity.outputs.clientId} --domain ${web.outputs.hostName}'
