package vertex_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/shoalhq/shoal/backends/vertex"
	"github.com/shoalhq/shoal/embedding"
)

// BenchmarkEncodeAllLatency measures EncodeAll through the Vertex encoder
// against vertextest answering every call after 50 ms: achieved throughput
// against the ideal concurrency × batch / latency. Each iteration embeds
// 20 rounds' worth of inputs. Small vectors (dim 8) measure the
// pipeline; dim 768 adds the protobuf cost of real-size vectors, which on a
// small machine running the fake too is CPU the client and the fake share.
func BenchmarkEncodeAllLatency(b *testing.B) {
	const latency = 50 * time.Millisecond
	for _, c := range []struct{ conc, batch, dim int }{{4, 32, 8}, {16, 32, 8}, {32, 64, 8}, {16, 32, 768}} {
		b.Run(fmt.Sprintf("conc=%d/batch=%d/dim=%d", c.conc, c.batch, c.dim), func(b *testing.B) {
			srv := newFake(b)
			srv.SetLatency(latency)
			enc := newEncoder(b, srv, textModel(), vertex.WithDimension(c.dim))
			n := 20 * c.conc * c.batch
			ideal := float64(c.conc*c.batch) / latency.Seconds()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				got := 0
				for _, err := range embedding.EncodeAll(context.Background(), enc, numbered(n),
					embedding.WithBatchSize(c.batch), embedding.WithConcurrency(c.conc)) {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				if got != n {
					b.Fatalf("embedded %d of %d", got, n)
				}
			}
			rate := float64(n*b.N) / time.Since(start).Seconds()
			b.ReportMetric(rate, "items/s")
			b.ReportMetric(ideal, "ideal-items/s")
			b.ReportMetric(100*rate/ideal, "%ideal")
		})
	}
}

// BenchmarkEncodeAllMemory streams n inputs through EncodeAll (no
// latency) and reports the peak live heap, sampled every 10 ms: it stays
// flat as n grows because EncodeAll holds at most 2 × concurrency batches.
// The 1,000,000-input case runs with SHOAL_BENCH_LARGE=1.
func BenchmarkEncodeAllMemory(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("SHOAL_BENCH_LARGE") != "" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			if n > 10_000 && os.Getenv("SHOAL_BENCH_LARGE") == "" && testing.Short() {
				b.Skip("large input: run without -short")
			}
			srv := newFake(b)
			enc := newEncoder(b, srv, textModel(), vertex.WithDimension(16))
			var peak uint64
			for range b.N {
				runtime.GC()
				var base runtime.MemStats
				runtime.ReadMemStats(&base)
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					t := time.NewTicker(10 * time.Millisecond)
					defer t.Stop()
					var m runtime.MemStats
					for {
						select {
						case <-stop:
							return
						case <-t.C:
							runtime.ReadMemStats(&m)
							if m.HeapAlloc > peak {
								peak = m.HeapAlloc
							}
						}
					}
				}()
				got := 0
				for _, err := range embedding.EncodeAll(context.Background(), enc, numbered(n),
					embedding.WithBatchSize(250), embedding.WithConcurrency(8)) {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				close(stop)
				wg.Wait()
				if got != n {
					b.Fatalf("embedded %d of %d", got, n)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
