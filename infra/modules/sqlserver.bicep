// A new Azure SQL logical server for the warehouse: Microsoft Entra sign-in only (no SQL
// passwords), TLS 1.2 and up, auditing and threat detection on. Skipped when the team's
// existing server is used (main.bicep's existingSqlServerName).
param name string
param location string
param adminGroupObjectId string
param adminGroupName string

resource server 'Microsoft.Sql/servers@2023-08-01-preview' = {
  // checkov:skip=CKV_AZURE_113:App Service reaches the server through the Azure services rule; a private endpoint needs the VNet layout of the scale-out guide
  name: name
  location: location
  identity: { type: 'SystemAssigned' }
  properties: {
    minimalTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    administrators: {
      administratorType: 'ActiveDirectory'
      azureADOnlyAuthentication: true
      login: adminGroupName
      sid: adminGroupObjectId
      principalType: 'Group'
      tenantId: tenant().tenantId
    }
  }
}

// App Service reaches the server over Azure's network (0.0.0.0 is "Azure services").
resource azureServices 'Microsoft.Sql/servers/firewallRules@2023-08-01-preview' = {
  parent: server
  name: 'AllowAzureServices'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

resource auditing 'Microsoft.Sql/servers/auditingSettings@2023-08-01-preview' = {
  parent: server
  name: 'default'
  properties: { state: 'Enabled', isAzureMonitorTargetEnabled: true, retentionDays: 120 }
}

resource threats 'Microsoft.Sql/servers/securityAlertPolicies@2023-08-01-preview' = {
  parent: server
  name: 'Default'
  properties: { state: 'Enabled', emailAccountAdmins: true, disabledAlerts: [], retentionDays: 120 }
}

output name string = server.name
