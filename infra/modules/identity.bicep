// The one identity Commercy runs as: the Azure Bot's app id (UserAssignedMSI, so there is
// no client secret to rotate) and the App Service's sign-in to SQL, OpenAI, Search,
// Storage and Key Vault.
param name string
param location string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
