package pinecone_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

// BenchmarkUpsertAllLatency measures index.UpsertAll through the Store and
// the real client against the fake with 20 ms of latency per call (see
// indextest.BenchmarkUpsertAll for the ratios it reports). At UpsertAll's
// defaults the target, ≥ 0.95, holds for vs_sends and ratio_floor (what
// UpsertAll loses against what the client and the transport allow); ratio,
// against the bare 20 ms, stays below it wherever the client's own prepared
// calls do (sends_ratio: 0.91–0.95 on a 2-vCPU VM, whose CPUs wake from idle
// for each call). The first rows use the defaults (100 records × 4 calls);
// the last two ask for more than two cores can encode (200,000 and 80,000
// records a second) and show where the CPU, not the latency, is the limit.
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

// BenchmarkPrepareUpsert is the Store's own work for a batch of 100
// records (checks and conversion to the client's vectors, metadata
// pre-encoded), which index.UpsertAll does while earlier batches are in
// flight; allocs/op is per batch.
func BenchmarkPrepareUpsert(b *testing.B) {
	srv := newFake(b)
	s, _ := openStore(b, srv, 64, index.DotProduct)
	recs := indextest.RandomRecords(1, 100, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.PrepareUpsert(b.Context(), "ns", recs); err != nil {
			b.Fatal(err)
		}
	}
}
