package search_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search"
)

const (
	benchN   = 100_000
	benchDim = 128
)

var benchStore = sync.OnceValues(func() (index.VectorStore, error) {
	s, err := memory.New(memory.WithMetric(index.Cosine))
	if err != nil {
		return nil, err
	}
	// 100 Gaussian clusters of 1000 items each.
	rng := rand.New(rand.NewPCG(7, 8))
	centres := make([][]float32, 100)
	for i := range centres {
		centres[i] = make([]float32, benchDim)
		for j := range centres[i] {
			centres[i][j] = float32(rng.NormFloat64())
		}
	}
	recs := make([]index.Record, 0, 10_000)
	for i := range benchN {
		c := centres[i%len(centres)]
		v := make([]float32, benchDim)
		for j := range v {
			v[j] = c[j] + 0.5*float32(rng.NormFloat64())
		}
		recs = append(recs, index.Record{ID: fmt.Sprintf("item-%06d", i), Vector: v,
			Metadata: index.Metadata{"cluster": int64(i % len(centres))}})
		if len(recs) == cap(recs) {
			if err := s.Upsert(context.Background(), ns, recs); err != nil {
				return nil, err
			}
			recs = recs[:0]
		}
	}
	return s, nil
})

// BenchmarkSearch searches 100k × 128 vectors in index/memory with a bucket
// of 5 examples given by ID (3 positives from 3 clusters, 2 negatives).
func BenchmarkSearch(b *testing.B) {
	store, err := benchStore()
	if err != nil {
		b.Fatal(err)
	}
	s, err := search.New(store, ns)
	if err != nil {
		b.Fatal(err)
	}
	bucket := search.Bucket{
		Positives: []search.Example{search.ByID("item-000000"), search.ByID("item-000001"), search.ByID("item-000002")},
		Negatives: []search.Example{search.ByID("item-000003"), search.ByID("item-000004")},
	}
	for _, agg := range aggregations {
		b.Run(agg.String(), func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				res, err := s.Search(ctx, bucket, search.WithAggregation(agg), search.WithTopK(10))
				if err != nil {
					b.Fatal(err)
				}
				if len(res) != 10 {
					b.Fatalf("%d results", len(res))
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}
