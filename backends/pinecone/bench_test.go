package pinecone_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

// BenchmarkUpsertAllLatency measures index.UpsertAll through the Store
// against the fake with 20 ms of latency per call, and reports the achieved
// rate against the ideal concurrency × batch / latency ("ratio", target
// ≥ 0.95).
func BenchmarkUpsertAllLatency(b *testing.B) {
	const latency = 20 * time.Millisecond
	for _, tc := range []struct{ dim, batch, conc, n int }{
		{8, 100, 8, 16_000},
		{64, 100, 8, 16_000},
		{64, 1000, 4, 40_000},
		{256, 100, 16, 32_000},
	} {
		b.Run(fmt.Sprintf("dim=%d/batch=%d/conc=%d", tc.dim, tc.batch, tc.conc), func(b *testing.B) {
			b.Setenv("PINECONE_ADDITIONAL_HEADERS", "{}")
			srv := newFake(b)
			s, _ := openStore(b, srv, tc.dim, index.DotProduct)
			recs := indextest.RandomRecords(1, tc.n, tc.dim)
			srv.SetFaults(pineconetest.Faults{Latency: latency})
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := index.UpsertAll(b.Context(), s, fmt.Sprint("ns", i), index.Records(recs),
					index.WithBatchSize(tc.batch), index.WithConcurrency(tc.conc)); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			rate := float64(tc.n*b.N) / elapsed.Seconds()
			ideal := float64(tc.conc*tc.batch) / latency.Seconds()
			b.ReportMetric(rate, "items/s")
			b.ReportMetric(ideal, "ideal_items/s")
			b.ReportMetric(rate/ideal, "ratio")
		})
	}
}
