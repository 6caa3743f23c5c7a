package openai

import "context"

// WithDeployment sends every call to this Azure OpenAI deployment,
// whatever the request's model, so that candidates and prices can name
// the model ("gpt-4o") while the URL names the deployment. It applies
// with [WithAzure].
//
// By default, the request's model names the deployment.
func WithDeployment(name string) Option { return optionFunc(func(c *config) { c.deployment = name }) }

// WithToken sends each request with "Authorization: Bearer" and the
// access token f returns, such as a Microsoft Entra ID token for Azure
// OpenAI (see package entra), instead of an API key. f is called once per
// call, so it should cache tokens until they expire; an error from it
// fails the call with an [*aiclient.Error] of kind
// [aiclient.KindAuthentication].
//
// By default, no token is sent.
func WithToken(f func(context.Context) (string, error)) Option {
	return optionFunc(func(c *config) { c.Token = f })
}
