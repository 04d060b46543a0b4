package indextest

import (
	"fmt"
	"slices"
	"sync"
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

// BenchmarkUpsertAll measures index.UpsertAll into s against two ideals,
// on the same store in the same run:
//
//   - ratio: the achieved rate over Concurrency × BatchSize / Latency, as if
//     a call cost nothing but the latency the fake adds;
//   - ratio_floor: the achieved rate over Concurrency × BatchSize / floor,
//     where floor (floor_ms) is the median time of a call that writes one
//     record, measured first, one call at a time. The floor is what the
//     transport costs on this machine besides the added latency (the
//     loopback round trip, the fake's timer waking late): no client can go
//     below it, so this ratio is what the store, the SDK and UpsertAll
//     themselves lose (their per-record work and their concurrency).
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
	floor := upsertFloor(b, s, c.Records[0], 1)
	floorConc := upsertFloor(b, s, c.Records[0], c.Concurrency)

	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := index.UpsertAll(ctx, s, "bench", index.Records(c.Records),
			index.WithBatchSize(c.BatchSize), index.WithConcurrency(c.Concurrency)); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
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
}

// upsertFloor returns the median time of one-record Upserts, conc at a time.
func upsertFloor(b *testing.B, s index.VectorStore, r index.Record, conc int) time.Duration {
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
				if err := s.Upsert(b.Context(), "floor", []index.Record{rec}); err != nil {
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
