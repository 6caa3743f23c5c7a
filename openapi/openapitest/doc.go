// Package openapitest checks, in a Go test, that an HTTP handler keeps the
// contract its OpenAPI document describes.
//
// A [Client] sends requests to the handler in process, without a network,
// and checks each response (status, Content-Type and body) against the
// operation the request matches. A violation fails the test with the exact
// place and expectation, such as
//
//	openapitest: GET /pets/7: status 200: openapi: the response does not match
//	the API contract: body /name: is required
//
// [Client.RequireCoverage] fails the test when an operation was never
// exercised, so new operations cannot ship untested.
//
// # Use
//
//	spec, _ := openapi.LoadFile("api/openapi.yaml")
//	c := openapitest.New(t, spec, myService.Handler())
//	res := c.Do(httptest.NewRequest("GET", "/pets/7", nil))
//	t.Cleanup(c.RequireCoverage)
//
// A [Client] is safe for concurrent use.
package openapitest
