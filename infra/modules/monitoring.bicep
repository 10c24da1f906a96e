// Logs and Application Insights: the bot's log lines (with their correlation ids) and
// requests land here.
param logsName string
param insightsName string
param location string

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logsName
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 90
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: insightsName
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: false
  }
}

output workspaceId string = logs.id
output connectionString string = insights.properties.ConnectionString
output appId string = insights.properties.AppId
