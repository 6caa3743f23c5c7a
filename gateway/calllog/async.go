package calllog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// AsyncConfig configures [Async].
type AsyncConfig struct {
	// Name labels the sink in the dropped-records metric, such as "loki".
	Name string
	// Buffer is the number of batches the queue holds (a Recorder hands
	// over at most its Batch records at once). When it is full, batches
	// are dropped and their records counted. If zero, 64 is used.
	Buffer int
	// MeterProvider creates the portico.calllog.dropped counter (attribute
	// sink = Name). If nil, otel.GetMeterProvider() is used.
	MeterProvider metric.MeterProvider
	// Logger receives the sink's errors. If nil, slog.Default() is used.
	Logger *slog.Logger
}

// AsyncSink gives one sink its own bounded queue and goroutine, so a slow
// or unreachable destination (a Loki down for maintenance) neither blocks
// the [Recorder] nor delays the other sinks: its records are dropped and
// counted instead. It is safe for concurrent use.
type AsyncSink struct {
	sink    Sink
	queue   chan []Record
	done    chan struct{}
	log     *slog.Logger
	name    string
	drops   metric.Int64Counter
	dropped atomic.Uint64
	once    sync.Once
	mu      sync.RWMutex // guards sends against Close
	closed  bool
}

// Async starts an [AsyncSink] around s. Call [AsyncSink.Close] to stop it.
func Async(s Sink, cfg AsyncConfig) *AsyncSink {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 64
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	a := &AsyncSink{
		sink: s, name: cfg.Name, log: cfg.Logger,
		queue: make(chan []Record, cfg.Buffer),
		done:  make(chan struct{}),
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.drops, _ = mp.Meter(meterName).Int64Counter("portico.calllog.dropped",
		metric.WithDescription("Call records dropped because a sink's queue was full."), metric.WithUnit("{record}"))
	go a.run()
	return a
}

// Write queues a copy of batch and returns at once; when the queue is
// full the batch is dropped and counted. It never returns an error.
func (a *AsyncSink) Write(ctx context.Context, batch []Record) error {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.closed {
		select {
		case a.queue <- append([]Record(nil), batch...):
			return nil
		default:
		}
	}
	a.dropped.Add(uint64(len(batch)))
	a.drops.Add(ctx, int64(len(batch)), metric.WithAttributes(attribute.String("sink", a.name)))
	return nil
}

// Dropped returns the number of records dropped.
func (a *AsyncSink) Dropped() uint64 { return a.dropped.Load() }

func (a *AsyncSink) run() {
	defer close(a.done)
	for batch := range a.queue {
		if err := a.sink.Write(context.Background(), batch); err != nil {
			a.log.Warn("calllog: sink failed", "sink", a.name, "records", len(batch), "error", err)
		}
	}
}

// Close writes what is queued and stops the goroutine, or gives up when
// ctx ends. Records written afterwards are dropped.
func (a *AsyncSink) Close(ctx context.Context) error {
	a.once.Do(func() {
		a.mu.Lock()
		a.closed = true
		close(a.queue)
		a.mu.Unlock()
	})
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
