package pinecone_test

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

// BenchmarkUpsertDirectLatency is the same load as BenchmarkUpsertAllLatency
// but with conc goroutines calling Store.Upsert directly, separating the
// Store + fake + gRPC cost per call from UpsertAll's pipeline.
func BenchmarkUpsertDirectLatency(b *testing.B) {
	const latency = 20 * time.Millisecond
	const dim, batch, conc, n = 8, 100, 8, 16_000
	b.Setenv("PINECONE_ADDITIONAL_HEADERS", "{}")
	srv := newFake(b)
	s, _ := openStore(b, srv, dim, index.DotProduct)
	recs := indextest.RandomRecords(1, n, dim)
	srv.SetFaults(pineconetest.Faults{Latency: latency})
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var g errgroup.Group
		for w := 0; w < conc; w++ {
			g.Go(func() error {
				for j := w * batch; j < n; j += conc * batch {
					if err := s.Upsert(b.Context(), fmt.Sprint("ns", i), recs[j:j+batch]); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	rate := float64(n*b.N) / elapsed.Seconds()
	ideal := float64(conc*batch) / latency.Seconds()
	b.ReportMetric(rate, "items/s")
	b.ReportMetric(rate/ideal, "ratio")
}
