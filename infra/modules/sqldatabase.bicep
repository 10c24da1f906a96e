// The warehouse database (serverless General Purpose: it pauses when idle) on the new or
// the existing server, with its own auditing and threat detection, logs to Log Analytics.
// The app's identity becomes a database user in the deploy guide's one T-SQL step
// (Bicep cannot create database users).
param serverName string
param databaseName string
param location string
param logsWorkspaceId string
@description('Who gets threat-detection mail besides the subscription admins.')
param alertEmails array = []

resource database 'Microsoft.Sql/servers/databases@2023-08-01-preview' = {
  // checkov:skip=CKV_AZURE_26:Alert mail is the securityAlertPolicies child below (emailAddresses from alertEmails); this ARM-style check reads only nested resources
  // checkov:skip=CKV_AZURE_27:emailAccountAdmins is true on the securityAlertPolicies child below; this ARM-style check reads only nested resources
  // checkov:skip=CKV_AZURE_229:Serverless General Purpose without zone redundancy keeps an idle warehouse cheap; set zoneRedundant for production SLAs
  name: '${serverName}/${databaseName}'
  location: location
  sku: { name: 'GP_S_Gen5_2', tier: 'GeneralPurpose' }
  properties: {
    autoPauseDelay: 60
    minCapacity: json('0.5')
    zoneRedundant: false
  }
}

resource auditing 'Microsoft.Sql/servers/databases/auditingSettings@2023-08-01-preview' = {
  parent: database
  name: 'default'
  properties: { state: 'Enabled', isAzureMonitorTargetEnabled: true, retentionDays: 120 }
}

resource threats 'Microsoft.Sql/servers/databases/securityAlertPolicies@2023-08-01-preview' = {
  parent: database
  name: 'Default'
  properties: {
    state: 'Enabled'
    emailAccountAdmins: true
    emailAddresses: alertEmails
    disabledAlerts: []
    retentionDays: 120
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: database
  name: 'to-log-analytics'
  properties: {
    workspaceId: logsWorkspaceId
    logs: [ { category: 'SQLSecurityAuditEvents', enabled: true } ]
  }
}

output fqdn string = '${serverName}${environment().suffixes.sqlServerHostname}'
