package grpcjson_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/portico-dev/portico/gateway/grpcjson"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/internal/grpctest"
)

// A JSON client calls a gRPC service through its google.api.http
// annotations.
func Example() {
	svc, err := grpctest.Run(grpctest.Options{}) // a gRPC server on loopback
	if err != nil {
		panic(err)
	}
	defer svc.Stop()

	files, err := grpcjson.ParseDescriptorSet(grpctest.DescriptorSet) // or LoadDescriptorSet("shelf.binpb")
	if err != nil {
		panic(err)
	}
	target, _ := url.Parse(svc.URL)
	upstream := grpcproxy.NewUpstreamTransport(nil)
	defer upstream.CloseIdleConnections()
	h, err := grpcjson.New(grpcjson.Config{
		Files:     files,
		Target:    target,
		Transport: &grpcproxy.Transport{Next: upstream},
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v1/shelves/fiction/books/dune?view=full")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	resp, err = http.Post(srv.URL+"/portico.grpctest.v1.Shelf/Echo", "application/json", strings.NewReader(`{"message":"hi"}`))
	if err != nil {
		panic(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Contains(string(body), `"message":"hi"`))
	// Output:
	// 200 {"name":"shelves/fiction/books/dune","title":"Book dune","author":"full","genre":"GENRE_FICTION","pageCount":"320"}
	// 200 true
}

func ExampleParseTemplate() {
	tpl, err := grpcjson.ParseTemplate("/v1/{name=shelves/*/books/*}:publish")
	if err != nil {
		panic(err)
	}
	vars, ok := tpl.Match("/v1/shelves/s1/books/b2:publish")
	fmt.Println(ok, vars["name"])
	// Output:
	// true shelves/s1/books/b2
}

// A translated service described as OpenAPI, for a catalog or a client
// generator: one operation per HTTP binding.
func ExampleHandler_OpenAPI() {
	files, err := grpcjson.ParseDescriptorSet(grpctest.DescriptorSet)
	if err != nil {
		panic(err)
	}
	h, err := grpcjson.New(grpcjson.Config{Files: files})
	if err != nil {
		panic(err)
	}
	doc, err := h.OpenAPI("Shelf", "/shelf")
	if err != nil {
		panic(err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &spec); err != nil {
		panic(err)
	}
	get := spec.Paths["/shelf/v1/shelves/{shelf}/books/{book}"]["get"]
	fmt.Println(get.OperationID)
	// Output:
	// portico.grpctest.v1.Shelf.GetBook
}
