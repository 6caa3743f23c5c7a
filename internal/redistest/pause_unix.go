//go:build unix

package redistest

import "syscall"

// Pause freezes the server (SIGSTOP) without closing anything: the kernel
// still accepts connections and data, but no command is answered until
// [Server.Resume], as with a Redis that hangs or a network that drops
// packets. It is a no-op if the server is not running.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume lets a paused server answer again (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		_ = s.proc.Signal(sig)
	}
}
