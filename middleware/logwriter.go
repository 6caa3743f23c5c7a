package middleware

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// LogWriterConfig configures [NewLogWriter]. The zero value is ready to use.
type LogWriterConfig struct {
	// Size bounds the bytes held in memory, waiting to be written. A write
	// that would overflow it is dropped whole, and counted (see
	// [LogWriter.Dropped]). If zero, 1 MiB.
	Size int
	// FlushInterval is the longest a record waits in memory before it is
	// written. Records are also written as soon as half of Size is
	// waiting. If zero, 200 milliseconds.
	FlushInterval time.Duration
}

// LogWriter is an [io.Writer] for logs (the output of a [log/slog]
// handler behind [AccessLog], say) that never makes its callers wait for
// the output: Write copies the record into a bounded buffer and returns,
// and a goroutine writes the buffer to the output in batches, one write
// for many records. When the buffer is full, a record is dropped whole
// rather than block a request, and counted.
//
// Close writes what is waiting and stops the goroutine; writes after
// Close go straight to the output. Each Write is kept whole: a handler
// that writes one record per call (as slog's handlers do) never sees its
// records interleaved.
type LogWriter struct {
	out      io.Writer
	size     int
	interval time.Duration

	mu      sync.Mutex
	buf     []byte // waiting to be written
	closed  bool
	closing bool // Close has begun
	kicked  bool
	dropped atomic.Uint64
	written atomic.Uint64

	outMu sync.Mutex // serializes writes to out
	spare []byte     // the buffer being written, under outMu
	err   error      // the first error of out, under outMu

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// NewLogWriter starts a LogWriter over out. Close it to write what is
// waiting and stop its goroutine.
func NewLogWriter(out io.Writer, cfg LogWriterConfig) *LogWriter {
	if cfg.Size < 0 || cfg.FlushInterval < 0 {
		panic("portico/middleware: NewLogWriter needs Size and FlushInterval >= 0")
	}
	size := cfg.Size
	if size == 0 {
		size = 1 << 20
	}
	interval := cfg.FlushInterval
	if interval == 0 {
		interval = 200 * time.Millisecond
	}
	w := &LogWriter{
		out: out, size: size, interval: interval,
		buf:  make([]byte, 0, min(size, 64<<10)),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go w.run()
	return w
}

// Write queues a copy of p and returns len(p) at once, or drops p when
// the buffer has no room for it. After Close, it writes p to the output.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.outMu.Lock()
		defer w.outMu.Unlock()
		n, err := w.out.Write(p)
		w.written.Add(uint64(max(n, 0)))
		return n, err
	}
	if len(w.buf)+len(p) > w.size {
		w.mu.Unlock()
		w.dropped.Add(1)
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	kick := !w.kicked && len(w.buf) >= w.size/2
	if kick {
		w.kicked = true
	}
	w.mu.Unlock()
	if kick {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// Dropped returns how many writes were dropped because the buffer was
// full.
func (w *LogWriter) Dropped() uint64 { return w.dropped.Load() }

// Written returns how many bytes reached the output.
func (w *LogWriter) Written() uint64 { return w.written.Load() }

// Flush writes what is waiting now, and returns the first error the
// output returned, if any.
func (w *LogWriter) Flush() error {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	w.mu.Lock()
	w.buf, w.spare = w.spare[:0], w.buf
	w.kicked = false
	w.mu.Unlock()
	if len(w.spare) > 0 {
		n, err := w.out.Write(w.spare)
		w.written.Add(uint64(max(n, 0)))
		if err != nil && w.err == nil {
			w.err = err
		}
	}
	return w.err
}

// errLogWriterClosed is returned by a second Close.
var errLogWriterClosed = errors.New("portico/middleware: LogWriter already closed")

// Close writes what is waiting, stops the goroutine, and returns the
// first error the output returned, if any. Later writes go straight to
// the output.
func (w *LogWriter) Close() error {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return errLogWriterClosed
	}
	w.closing = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	w.outMu.Lock()
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.outMu.Unlock()
	// Records queued between the last flush and closed being set.
	return w.Flush()
}

func (w *LogWriter) run() {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			_ = w.Flush()
			return
		case <-t.C:
		case <-w.kick:
		}
		_ = w.Flush()
	}
}
