// Package vlogstest starts a real VictoriaLogs server for tests.
//
// VictoriaLogs (Apache-2.0) implements Grafana Loki's push API, in both
// of Loki's encodings (JSON and protobuf with snappy), under
// /insert/loki/api/v1/push, and answers LogsQL queries. [Start] runs the
// victoria-logs binary on a free loopback port with a temporary storage
// directory and stops it when the test ends; [Server.LokiURL] is the base
// URL a Loki client is given, and [Server.Query] reads the stored entries
// back. The line pushed is kept verbatim in the _msg field: the server is
// started with -loki.disableMessageParsing, as Loki itself keeps lines.
//
// When the binary is absent the test is skipped with a message saying how
// to install it. A Server is safe for concurrent use.
package vlogstest
