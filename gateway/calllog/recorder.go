package calllog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// RecorderConfig configures a [Recorder]. The zero value logs every call
// with slog.Default().
type RecorderConfig struct {
	// Sinks receive every record, in order. If empty, [Slog](Logger) is used.
	Sinks []Sink
	// Buffer is the capacity of the queue between requests and sinks. When
	// it is full, records are dropped and counted (see [Recorder.Dropped]),
	// so recording never blocks a request. If zero, 8192 is used.
	Buffer int
	// Batch is the largest batch handed to the sinks at once. If zero, 256
	// is used.
	Batch int
	// Logger receives sink errors. If nil, slog.Default() is used.
	Logger *slog.Logger
}

// Recorder queues records from requests and hands them to its sinks from
// one background goroutine. [Recorder.Record] never blocks: when the queue
// is full the record is dropped and counted. It is safe for concurrent use.
type Recorder struct {
	sinks   []Sink
	queue   chan Record
	flushes chan chan struct{}
	done    chan struct{}
	stopped chan struct{}
	batch   int
	log     *slog.Logger
	dropped atomic.Uint64
	written atomic.Uint64
	closed  atomic.Bool
	once    sync.Once
}

// NewRecorder starts a Recorder. Call [Recorder.Close] to stop it.
// It panics on a negative Buffer or Batch.
func NewRecorder(cfg RecorderConfig) *Recorder {
	if cfg.Buffer < 0 || cfg.Batch < 0 {
		panic("portico/calllog: RecorderConfig.Buffer and Batch must be >= 0")
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = 8192
	}
	if cfg.Batch == 0 {
		cfg.Batch = 256
	}
	if len(cfg.Sinks) == 0 {
		cfg.Sinks = []Sink{Slog(cfg.Logger)}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Recorder{
		sinks:   append([]Sink(nil), cfg.Sinks...),
		queue:   make(chan Record, cfg.Buffer),
		flushes: make(chan chan struct{}),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
		batch:   cfg.Batch,
		log:     cfg.Logger,
	}
	go r.run()
	return r
}

// Record queues rec and reports whether it was accepted. It never blocks:
// when the queue is full, or the Recorder is closed, rec is dropped and
// counted in [Recorder.Dropped].
func (r *Recorder) Record(rec *Record) bool {
	if r.closed.Load() {
		r.dropped.Add(1)
		return false
	}
	select {
	case r.queue <- *rec:
		return true
	default:
		r.dropped.Add(1)
		return false
	}
}

// Dropped returns the number of records dropped because the queue was full
// or the Recorder closed.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// Written returns the number of records handed to the sinks.
func (r *Recorder) Written() uint64 { return r.written.Load() }

// Flush waits until every record queued before the call has been handed to
// the sinks, or ctx ends.
func (r *Recorder) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case r.flushes <- ack:
	case <-r.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes the queued records and stops the background goroutine,
// or gives up when ctx ends. Records arriving afterwards are dropped.
func (r *Recorder) Close(ctx context.Context) error {
	r.once.Do(func() {
		r.closed.Store(true)
		close(r.done)
	})
	select {
	case <-r.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Recorder) run() {
	defer close(r.stopped)
	buf := make([]Record, 0, r.batch)
	for {
		select {
		case rec := <-r.queue:
			buf = append(buf[:0], rec)
			buf = r.fill(buf)
			r.write(buf)
		case ack := <-r.flushes:
			r.drain(buf)
			close(ack)
		case <-r.done:
			r.drain(buf)
			return
		}
	}
}

// fill adds queued records to buf without waiting, up to the batch size.
func (r *Recorder) fill(buf []Record) []Record {
	for len(buf) < r.batch {
		select {
		case rec := <-r.queue:
			buf = append(buf, rec)
		default:
			return buf
		}
	}
	return buf
}

// drain writes everything queued now.
func (r *Recorder) drain(buf []Record) {
	for {
		buf = r.fill(buf[:0])
		if len(buf) == 0 {
			return
		}
		r.write(buf)
	}
}

func (r *Recorder) write(batch []Record) {
	ctx := context.Background()
	for _, s := range r.sinks {
		if err := s.Write(ctx, batch); err != nil {
			r.log.LogAttrs(ctx, slog.LevelError, "calllog: sink failed",
				slog.Int("records", len(batch)), slog.Any("error", err))
		}
	}
	r.written.Add(uint64(len(batch)))
	clear(batch)
}
