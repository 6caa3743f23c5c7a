// Package vertex is the [aiclient.Provider] for Gemini on Google Cloud's
// Vertex AI: generateContent, streamGenerateContent with alt=sse, and the
// embedding models' predict method, at
// https://LOCATION-aiplatform.googleapis.com/v1/projects/PROJECT/locations/LOCATION/publishers/google/models/MODEL.
//
// A [Provider] is built with [New] and options: [WithProject],
// [WithLocation], and the credentials: a service account key or any other
// Application Default Credentials file ([WithCredentialsFile]),
// Application Default Credentials themselves (the default), or a token
// source of the caller's ([WithTokenSource]). Access tokens for the
// cloud-platform scope come from golang.org/x/oauth2/google, are reused
// until they expire, and are sent as "Authorization: Bearer". Importing
// this package links the OAuth 2.0 libraries; importing aiclient alone
// does not.
//
// # Wire mapping
//
// Vertex AI speaks the Gemini API's wire format, so requests, responses,
// streams, usage, finish reasons and errors are those of the gemini
// package, whose code this package runs (see its documentation for the
// mapping). A model is a Google model's name ("gemini-2.5-flash"), or a
// resource under the location ("endpoints/1234" for a tuned model,
// "publishers/..."), or a full "projects/..." resource name. Errors name
// the provider "gcp.vertex_ai"; credentials that cannot be had are
// [aiclient.KindAuthentication] with code "credentials", and a token
// Vertex AI refuses is [aiclient.KindAuthentication] with code
// UNAUTHENTICATED.
//
// Embeddings call predict with one instance per input, in batches of 250
// (one for the gemini-embedding models, which take one at a time); usage
// adds up the token counts Vertex AI reports.
//
// # Concurrency
//
// A Provider is safe for concurrent use.
package vertex
