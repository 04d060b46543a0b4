package milvus_test

import (
	"fmt"
	"testing"
	"time"

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
	for _, tc := range []struct {
		dim, batch, conc, n int
		metadata            bool
	}{
		{8, 100, 4, 8_000, true},
		{64, 100, 4, 8_000, true},
		{256, 100, 4, 8_000, true},
		{8, 100, 8, 16_000, false},
		{8, 100, 8, 16_000, true},
		{64, 100, 8, 16_000, true},
		{64, 1000, 4, 40_000, true},
		{256, 100, 16, 32_000, true},
	} {
		b.Run(fmt.Sprintf("dim=%d/batch=%d/conc=%d/metadata=%v", tc.dim, tc.batch, tc.conc, tc.metadata), func(b *testing.B) {
			srv := newFake(b)
			s, _ := openStore(b, srv, tc.dim, index.DotProduct)
			recs := indextest.RandomRecords(1, tc.n, tc.dim)
			if !tc.metadata {
				for i := range recs {
					recs[i].Metadata = nil
				}
			}
			srv.SetLatency(latency)
			indextest.BenchmarkUpsertAll(b, s, indextest.UpsertBench{Records: recs, BatchSize: tc.batch, Concurrency: tc.conc, Latency: latency})
		})
	}
}

// BenchmarkUpsertOneCall is the latency of one Store.Upsert of 100 records
// against the fake with 20 ms of latency: the overhead above 20 ms is the
// Store's, the SDK's and the fake's own work.
func BenchmarkUpsertOneCall(b *testing.B) {
	for _, lat := range []time.Duration{0, 20 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%v", lat), func(b *testing.B) {
			srv := newFake(b)
			s, _ := openStore(b, srv, 8, index.DotProduct)
			recs := indextest.RandomRecords(1, 100, 8)
			srv.SetLatency(lat)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Upsert(b.Context(), "ns", recs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
