package pinecone_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

// BenchmarkUpsertAllLatency is the Store's upsert throughput benchmark:
// index.UpsertAll through the Store and the real client against the fake,
// which adds 20 ms of latency per call (see indextest.BenchmarkUpsertAll
// for the ratios it reports; the target is ratio_floor ≥ 0.95). The first
// rows use UpsertAll's defaults (100 records × 4 calls); the last two ask
// for more than two cores can encode (200,000 and 80,000 records a second)
// and show where the CPU, not the latency, is the limit.
func BenchmarkUpsertAllLatency(b *testing.B) {
	const latency = 20 * time.Millisecond
	for _, tc := range []struct{ dim, batch, conc, n int }{
		{8, 100, 4, 8_000},
		{64, 100, 4, 8_000},
		{256, 100, 4, 8_000},
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
			indextest.BenchmarkUpsertAll(b, s, indextest.UpsertBench{Records: recs, BatchSize: tc.batch, Concurrency: tc.conc, Latency: latency})
		})
	}
}
