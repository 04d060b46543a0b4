package indextest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shoalhq/shoal/embedding"
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

// BenchmarkUpsertAll measures index.UpsertAll's throughput into s, as ratios
// that hold on a shared, noisy machine:
//
//   - ratio: the achieved rate over Concurrency × BatchSize / Latency, as if
//     a call cost nothing but the latency the fake adds;
//   - ratio_floor: the achieved rate over Concurrency × BatchSize / floor,
//     where floor (floor_ms) is the median time of a call that writes one
//     record, measured first, one call at a time, on the same store in the
//     same run: the control. It is what the transport costs on this machine
//     besides the added latency (the loopback round trip, the fake's timer
//     waking late), which no client goes below, so this ratio is what the
//     store, its client library and UpsertAll lose.
//
// It also reports items/s. Backends call it from their benchmarks with
// their in-process fake.
func BenchmarkUpsertAll(b *testing.B, s index.VectorStore, c UpsertBench) {
	b.Helper()
	ctx := b.Context()
	if len(c.Records) == 0 || c.BatchSize < 1 || c.Concurrency < 1 || c.Latency <= 0 {
		b.Fatalf("indextest: bad UpsertBench %d records, batch %d, concurrency %d, latency %v", len(c.Records), c.BatchSize, c.Concurrency, c.Latency)
	}
	floor := upsertFloor(ctx, b, s, c.Records[0])
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := index.UpsertAll(ctx, s, "bench", index.Records(c.Records),
			embedding.WithBatchSize(c.BatchSize), embedding.WithConcurrency(c.Concurrency)); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	rate := float64(len(c.Records)*b.N) / elapsed.Seconds()
	perSlot := float64(c.Concurrency * c.BatchSize)
	b.ReportMetric(rate, "items/s")
	b.ReportMetric(rate/(perSlot/c.Latency.Seconds()), "ratio")
	b.ReportMetric(rate/(perSlot/floor.Seconds()), "ratio_floor")
	b.ReportMetric(float64(floor)/1e6, "floor_ms")
}

// upsertFloor returns the median time of one-record Upserts, one at a time.
func upsertFloor(ctx context.Context, b *testing.B, s index.VectorStore, r index.Record) time.Duration {
	const floorCalls = 21
	d := make([]time.Duration, 0, floorCalls)
	rec := r
	rec.ID = r.ID + "-floor"
	for range floorCalls {
		start := time.Now()
		if err := s.Upsert(ctx, "floor", []index.Record{rec}); err != nil {
			b.Fatalf("floor: %v", err)
		}
		d = append(d, time.Since(start))
	}
	slices.Sort(d)
	return d[len(d)/2]
}
