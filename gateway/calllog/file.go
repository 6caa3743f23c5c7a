package calllog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
)

// FileConfig configures [File].
type FileConfig struct {
	// Path is the file records are appended to, one JSON object a line.
	Path string
	// MaxBytes rotates the file before a line would take it past this
	// size (a batch is split across files to keep to it; only a single
	// line larger than MaxBytes makes a file of its own exceed it): it is
	// renamed Path.1 (Path.1 becomes Path.2, and so on) and a new file is
	// started. If zero, 100 MiB is used.
	MaxBytes int64
	// MaxBackups is the number of rotated files kept; older ones are
	// removed. If zero, 5 are kept.
	MaxBackups int
}

// FileSink appends records as JSON lines to a file and rotates it by
// size. It is safe for concurrent use. Call [FileSink.Close] when done.
type FileSink struct {
	cfg  FileConfig
	mu   sync.Mutex
	f    *os.File
	size int64
}

// File opens (or creates) cfg.Path for appending and returns the sink.
// The error names the field at fault.
func File(cfg FileConfig) (*FileSink, error) {
	if cfg.Path == "" {
		return nil, errors.New("portico/calllog: file: path is empty")
	}
	if cfg.MaxBytes < 0 || cfg.MaxBackups < 0 {
		return nil, fmt.Errorf("portico/calllog: file %s: max_bytes and max_backups must not be negative", cfg.Path)
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 100 << 20
	}
	if cfg.MaxBackups == 0 {
		cfg.MaxBackups = 5
	}
	s := &FileSink{cfg: cfg}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *FileSink) open() error {
	f, err := os.OpenFile(s.cfg.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("portico/calllog: file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("portico/calllog: file: %w", err)
	}
	s.f, s.size = f, st.Size()
	return nil
}

// Write appends one line per record. A batch is split where needed: the
// file is rotated before any line that would take it past MaxBytes, so
// no file grows past MaxBytes unless a single line is larger than
// MaxBytes, which is then written alone into a file of its own.
func (s *FileSink) Write(_ context.Context, batch []Record) error {
	lines := make([][]byte, 0, len(batch))
	for i := range batch {
		line, err := json.Marshal(&batch[i])
		if err != nil {
			return err
		}
		lines = append(lines, append(line, '\n'))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return errors.New("portico/calllog: file: closed")
	}
	var buf []byte
	for _, line := range lines {
		if s.size+int64(len(buf)+len(line)) > s.cfg.MaxBytes && s.size+int64(len(buf)) > 0 {
			if err := s.flush(buf); err != nil {
				return err
			}
			buf = buf[:0]
			if err := s.rotate(); err != nil {
				return err
			}
		}
		buf = append(buf, line...)
	}
	return s.flush(buf)
}

// flush appends buf to the current file.
func (s *FileSink) flush(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	n, err := s.f.Write(buf)
	s.size += int64(n)
	return err
}

// rotate shifts Path.N to Path.N+1, dropping the oldest, and starts a new file.
func (s *FileSink) rotate() error {
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("portico/calllog: file: %w", err)
	}
	p := s.cfg.Path
	_ = os.Remove(fmt.Sprintf("%s.%d", p, s.cfg.MaxBackups))
	for i := s.cfg.MaxBackups - 1; i >= 1; i-- {
		if err := os.Rename(fmt.Sprintf("%s.%d", p, i), fmt.Sprintf("%s.%d", p, i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("portico/calllog: file: %w", err)
		}
	}
	if err := os.Rename(p, p+".1"); err != nil {
		return fmt.Errorf("portico/calllog: file: %w", err)
	}
	return s.open()
}

// Close closes the file. Writes afterwards fail.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
