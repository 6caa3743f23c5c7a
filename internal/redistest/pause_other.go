//go:build !unix

package redistest

// Pause skips the test: freezing a process needs SIGSTOP, which only Unix
// systems have.
func (s *Server) Pause() { s.t.Skip("redistest: Pause needs a Unix system (SIGSTOP)") }

// Resume does nothing where [Server.Pause] is not supported.
func (s *Server) Resume() {}
