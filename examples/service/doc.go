// Command service is a small orders API that embeds every Portico
// middleware: request IDs, panic recovery, client IPs behind trusted
// proxies, OpenTelemetry, access logs, body limits, timeouts and CORS. It
// keeps orders in memory, streams new orders as Server-Sent Events,
// answers /healthz, and on SIGINT or SIGTERM stops accepting connections
// and drains the requests in flight before it exits.
//
//	go run ./examples/service -addr 127.0.0.1:8081
//	curl -s -XPOST localhost:8081/orders -d '{"item":"coffee","quantity":2}'
//	curl -s localhost:8081/orders/<id>
//	curl -sN localhost:8081/orders/events
//
// # Flags
//
//	-addr              address to listen on (127.0.0.1:8081)
//	-timeout           time a request has to start its response (10s)
//	-shutdown-timeout  time allowed to drain in-flight requests (20s)
//	-max-body          largest request body accepted, in bytes (65536)
//	-trusted-proxies   comma-separated CIDRs of the proxies in front
//	-cors-origins      comma-separated origins allowed from browsers
package main
