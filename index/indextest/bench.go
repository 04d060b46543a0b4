package indextest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalhq/shoal/index"
)

// UpsertBench describes one run of [BenchmarkUpsertAll].
type UpsertBench struct {
	// Records are written, BatchSize per call and Concurrency calls at a
	// time, into the namespace "bench" (each iteration overwrites the
	// last, so that the fake's memory does not grow with b.N).
	Records     []index.Record
	BatchSize   int
	Concurrency int
	// Latency is the latency the backend's fake adds to every call.
	Latency time.Duration
}

// BenchmarkUpsertAll measures index.UpsertAll into s against two ideals
// and, for stores that prepare their batches, one control, on the same
// store in the same run:
//
//   - ratio: the achieved rate over Concurrency × BatchSize / Latency, as if
//     a call cost nothing but the latency the fake adds;
//   - ratio_floor: the achieved rate over Concurrency × BatchSize / floor,
//     where floor (floor_ms) is the median time of a call that writes one
//     record, measured first, one call at a time. The floor is what the
//     transport costs on this machine besides the added latency (the
//     loopback round trip, CPUs waking from idle, the fake's timer waking
//     late): no client can go below it, so this ratio is what the store,
//     the SDK and UpsertAll themselves lose (their per-record work and
//     their concurrency);
//   - vs_sends, when s is an [index.UpsertPreparer]: every batch is also
//     prepared once, before timing, and its sends run Concurrency at a time
//     with nothing else to do, in turns with UpsertAll's runs (same data,
//     same machine, same moment). A store's send is the backend client's
//     own call, so this control is what the client reaches on this machine
//     with perfect pipelining: sends_ratio is its rate over the latency
//     ideal, and vs_sends UpsertAll's rate over its rate (what UpsertAll's
//     batching, preparation and scheduling cost).
//
// It also reports items/s, the mean time of a call (call_ms), and
// floorc_ms, the floor measured with Concurrency one-record calls at a time
// (how much the transport itself slows down under that concurrency).
//
// Backends call it from their benchmarks with their in-process fake; the
// figures are ratios, so they hold on a shared, noisy machine.
func BenchmarkUpsertAll(b *testing.B, s index.VectorStore, c UpsertBench) {
	b.Helper()
	ctx := b.Context()
	if len(c.Records) == 0 || c.BatchSize < 1 || c.Concurrency < 1 || c.Latency <= 0 {
		b.Fatalf("indextest: bad UpsertBench %d records, batch %d, concurrency %d, latency %v", len(c.Records), c.BatchSize, c.Concurrency, c.Latency)
	}
	floor := upsertFloor(ctx, b, s, c.Records[0], 1)
	floorConc := upsertFloor(ctx, b, s, c.Records[0], c.Concurrency)

	var sends []func(context.Context) error
	if p, ok := s.(index.UpsertPreparer); ok {
		for lo := 0; lo < len(c.Records); lo += c.BatchSize {
			send, err := p.PrepareUpsert(ctx, "bench", c.Records[lo:min(lo+c.BatchSize, len(c.Records))])
			if err != nil {
				b.Fatal(err)
			}
			sends = append(sends, send)
		}
	}

	b.ResetTimer()
	var elapsed, elapsedSends time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := index.UpsertAll(ctx, s, "bench", index.Records(c.Records),
			index.WithBatchSize(c.BatchSize), index.WithConcurrency(c.Concurrency)); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		if sends != nil {
			b.StopTimer()
			elapsedSends += runSends(ctx, b, sends, c.Concurrency)
			b.StartTimer()
		}
	}
	b.StopTimer()
	n := float64(len(c.Records) * b.N)
	rate := n / elapsed.Seconds()
	calls := float64(b.N * ((len(c.Records) + c.BatchSize - 1) / c.BatchSize))
	perSlot := float64(c.Concurrency * c.BatchSize)
	b.ReportMetric(rate, "items/s")
	b.ReportMetric(rate/(perSlot/c.Latency.Seconds()), "ratio")
	b.ReportMetric(rate/(perSlot/floor.Seconds()), "ratio_floor")
	b.ReportMetric(float64(floor)/1e6, "floor_ms")
	b.ReportMetric(float64(floorConc)/1e6, "floorc_ms")
	b.ReportMetric(elapsed.Seconds()*1e3*float64(c.Concurrency)/calls, "call_ms")
	if sends != nil {
		sendRate := n / elapsedSends.Seconds()
		b.ReportMetric(sendRate/(perSlot/c.Latency.Seconds()), "sends_ratio")
		b.ReportMetric(rate/sendRate, "vs_sends")
	}
}

// runSends runs prepared sends conc at a time, each worker taking the next
// as soon as its last returns, and returns how long they took.
func runSends(ctx context.Context, b *testing.B, sends []func(context.Context) error, conc int) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(sends) {
					return
				}
				if err := sends[i](ctx); err != nil {
					b.Errorf("prepared send %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// upsertFloor returns the median time of one-record Upserts, conc at a time.
func upsertFloor(ctx context.Context, b *testing.B, s index.VectorStore, r index.Record, conc int) time.Duration {
	const floorCalls = 21
	var mu sync.Mutex
	var d []time.Duration
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			rec := r
			rec.ID = fmt.Sprintf("%s-floor-%d", r.ID, w)
			for range floorCalls {
				start := time.Now()
				if err := s.Upsert(ctx, "floor", []index.Record{rec}); err != nil {
					b.Errorf("floor: %v", err)
					return
				}
				mu.Lock()
				d = append(d, time.Since(start))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(d)
	return d[len(d)/2]
}
