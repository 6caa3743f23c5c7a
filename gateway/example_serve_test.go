package gateway_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/portico-dev/portico/gateway"
)

func ExampleServerConfig_Serve() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "served over %s", r.Proto)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	// HTTP/2 without TLS for clients that know to speak it, as gRPC
	// clients and load balancers do; HTTP/1.1 for the others. Request
	// bodies that stall for 10s are cut with a 408.
	sc := gateway.ServerConfig{H2C: true, BodyStallTimeout: 10 * time.Second}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sc.Serve(ctx, l, h) }()

	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos}
	resp, err := (&http.Client{Transport: tr}).Get("http://" + l.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	var body [32]byte
	n, _ := resp.Body.Read(body[:])
	resp.Body.Close()
	tr.CloseIdleConnections()
	fmt.Println(resp.Proto, string(body[:n]))

	stop() // a graceful shutdown
	fmt.Println(<-done)
	// Output:
	// HTTP/2.0 served over HTTP/2.0
	// <nil>
}
