package memory_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
	"github.com/shoalhq/shoal/index/memory"
)

const (
	benchN   = 100_000
	benchDim = 256
)

var benchData = sync.OnceValue(func() []index.Record { return indextest.RandomRecords(77, benchN, benchDim) })

// benchStore builds (once per option set) a store of benchN random records
// of dimension benchDim.
func benchStore(b *testing.B, opts ...memory.Option) *memory.Store {
	b.Helper()
	s, err := memory.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	recs := benchData()
	for i := 0; i < len(recs); i += 1000 {
		if err := s.Upsert(b.Context(), "bench", recs[i:i+1000]); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkQuery is exact search over 100k × 256-d random vectors, TopK 10,
// cosine: without a filter, with a filter a quarter of the records match
// (group == "beta"), and with one 1% match (i < 1000); on all cores and on
// one.
func BenchmarkQuery(b *testing.B) {
	queries := indextest.RandomVectors(78, 64, benchDim)
	filters := []struct {
		name string
		f    index.Filter
	}{
		{"NoFilter", index.Filter{}},
		{"Filter25pct", index.Eq("group", "beta")},
		{"Filter1pct", index.Lt("i", 1000)},
	}
	for _, par := range []struct {
		name string
		opts []memory.Option
	}{
		{"Parallel", nil},
		{"Serial", []memory.Option{memory.WithParallelism(1)}},
	} {
		b.Run(par.name, func(b *testing.B) {
			s := benchStore(b, par.opts...)
			defer s.Close()
			for _, f := range filters {
				b.Run(f.name, func(b *testing.B) {
					i := 0
					for b.Loop() {
						ms, err := s.Query(b.Context(), index.Query{Namespace: "bench", Vector: queries[i%len(queries)], TopK: 10, Filter: f.f})
						if err != nil || len(ms) != 10 {
							b.Fatalf("%d matches, %v", len(ms), err)
						}
						i++
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
				})
			}
		})
	}
}

// BenchmarkUpsert measures write throughput in batches of 100 records of
// 256 dimensions: in memory, on disk with an fsync per call (the default),
// and on disk without.
func BenchmarkUpsert(b *testing.B) {
	recs := indextest.RandomRecords(79, 10_000, benchDim)
	const batch = 100
	for _, mode := range []string{"InMemory", "OnDiskSync", "OnDiskNoSync"} {
		b.Run(mode, func(b *testing.B) {
			var (
				s   *memory.Store
				err error
			)
			switch mode {
			case "InMemory":
				s, err = memory.New()
			case "OnDiskSync":
				s, err = memory.Open(b.Context(), b.TempDir())
			default:
				s, err = memory.Open(b.Context(), b.TempDir(), memory.WithSync(false))
			}
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			i := 0
			for b.Loop() {
				start := (i * batch) % len(recs)
				// A fresh namespace per pass over recs, so that writes are
				// inserts, not overwrites.
				ns := fmt.Sprint("ns", i*batch/len(recs))
				if err := s.Upsert(b.Context(), ns, recs[start:start+batch]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
