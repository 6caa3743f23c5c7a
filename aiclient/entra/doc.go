// Package entra gets Microsoft Entra ID access tokens, for Azure OpenAI
// deployments that refuse API keys or whose operators want none: give a
// [TokenSource]'s Token method to the openai adapter's WithToken with
// WithAzure.
//
//	ts := entra.WorkloadIdentity(tenantID, clientID, "/var/run/secrets/azure/tokens/azure-identity-token")
//	p := openai.New(openai.WithBaseURL("https://NAME.openai.azure.com"), openai.WithAzure("2024-10-21"),
//		openai.WithToken(ts.Token))
//
// Three ways to authenticate are offered, each a plain HTTPS exchange
// with no SDK: an app registration's client secret ([ClientSecret]),
// workload identity federation as AKS sets it up ([WorkloadIdentity]),
// and the managed identity of a VM, AKS node, App Service or Container
// App ([ManagedIdentity]). Tokens are for [DefaultScope] unless
// [WithScope] says otherwise, and are kept until 5 minutes before they
// expire. A failure is returned as is; the adapters report it as an
// authentication error.
//
// # Concurrency
//
// A TokenSource is safe for concurrent use.
package entra
