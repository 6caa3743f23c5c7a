// Package redistest starts a real redis-server for tests.
//
// [Start] runs redis-server on a free loopback port in a temporary
// directory, with persistence off, and stops it when the test ends. Tests
// that exercise outages call [Server.Kill] and [Server.Restart], or
// [Server.Pause] and [Server.Resume] for a server that hangs. When the
// redis-server binary is absent the test is skipped with a message saying
// how to install it. A Server is safe for concurrent use.
package redistest
