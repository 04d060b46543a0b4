package look

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// clusteredStore fills an in-memory store with n d-dimensional vectors
// around n/1000 Gaussian centres, with a label per centre.
func clusteredStore(b *testing.B, n, d int) *memory.Store {
	b.Helper()
	s, err := memory.New(memory.WithMetric(index.Cosine))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	r := rand.New(rand.NewPCG(42, 1))
	centres := make([][]float32, max(1, n/1000))
	for c := range centres {
		centres[c] = make([]float32, d)
		for j := range d {
			centres[c][j] = float32(r.NormFloat64())
		}
	}
	batch := make([]index.Record, 0, 10_000)
	for i := range n {
		c := r.IntN(len(centres))
		v := make([]float32, d)
		for j := range v {
			v[j] = centres[c][j] + 0.7*float32(r.NormFloat64())
		}
		batch = append(batch, index.Record{ID: fmt.Sprintf("v%07d", i), Vector: v, Metadata: index.Metadata{"label": fmt.Sprintf("c%d", c%10)}})
		if len(batch) == cap(batch) || i == n-1 {
			if err := s.Upsert(context.Background(), "ns", batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return s
}

// BenchmarkRarityAndMap times Load, rarity (exact kNN) and both maps over
// 20,000 × 128-d vectors in index/memory.
func BenchmarkRarityAndMap(b *testing.B) {
	benchLarge(b, 20_000, 128, 0)
}

// BenchmarkRarityAndMapMillion is the same over 1,000,000 × 128-d vectors
// (the approximate kNN; recall measured against exact on 1,000 items). It
// takes minutes and a few GiB, so it runs only with SHOAL_BENCH_LARGE=1:
//
//	SHOAL_BENCH_LARGE=1 go test -run '^$' -bench RarityAndMapMillion -benchtime 1x -timeout 1h ./search/look
func BenchmarkRarityAndMapMillion(b *testing.B) {
	if os.Getenv("SHOAL_BENCH_LARGE") != "1" {
		b.Skip("builds a 1M-vector store: set SHOAL_BENCH_LARGE=1 to run it")
	}
	benchLarge(b, 1_000_000, 128, 1000)
}

func benchLarge(b *testing.B, n, d, recallQueries int) {
	t0 := time.Now()
	store := clusteredStore(b, n, d)
	b.Logf("store of %d × %d built in %v", n, d, time.Since(t0).Round(time.Millisecond))
	ctx := context.Background()
	for b.Loop() {
		t0 = time.Now()
		sp, err := Load(ctx, opaque{store}, "ns", WithFields("label"))
		if err != nil {
			b.Fatal(err)
		}
		tLoad := time.Since(t0)
		t0 = time.Now()
		rare, err := sp.Rarest(ctx, WithTop(20))
		if err != nil {
			b.Fatal(err)
		}
		tRare := time.Since(t0)
		g, _ := sp.Neighbors(ctx)
		t0 = time.Now()
		mp, err := sp.Map(ctx, PCA)
		if err != nil {
			b.Fatal(err)
		}
		tPCA := time.Since(t0)
		t0 = time.Now()
		mn, err := sp.Map(ctx, Neighborhood)
		if err != nil {
			b.Fatal(err)
		}
		tNb := time.Since(t0)
		b.ReportMetric(tLoad.Seconds(), "load-s")
		b.ReportMetric(tRare.Seconds(), "rarity-s")
		b.ReportMetric(tPCA.Seconds(), "pca-map-s")
		b.ReportMetric(tNb.Seconds(), "neighborhood-map-s")
		b.Logf("load %v, rarity (%s kNN) %v, PCA map of %d %v, neighbourhood map %v; rarest %s %.3f",
			tLoad, g.Method, tRare, len(mp.Points), tPCA, tNb, rare[0].ID, rare[0].Score)
		if recallQueries > 0 {
			rec := exactRecall(b, sp, g, recallQueries)
			b.ReportMetric(rec, "recall@10")
			b.Logf("recall@%d of the %s graph vs exact on %d items: %.4f", g.K, g.Method, recallQueries, rec)
		}
		_ = mn
	}
	runtime.GC()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/(1<<20), "peak-RSS-GiB")
		b.Logf("peak RSS %.2f GiB", float64(ru.Maxrss)/(1<<20))
	}
}

// exactRecall compares the graph's neighbours of q random items with their
// exact neighbours among all items.
func exactRecall(b *testing.B, sp *Space, g *Graph, q int) float64 {
	r := rand.New(rand.NewPCG(9, 9))
	idx := make([]int32, q)
	for i, v := range r.Perm(sp.Len())[:q] {
		idx[i] = int32(v)
	}
	pos := map[int32]int{}
	for i, v := range idx {
		pos[v] = i
	}
	nk := vecmath.NewNearestK(q, g.K)
	err := joinRows(context.Background(), runtime.GOMAXPROCS(0), sp.metric, sp.vecs, sp.dim, idx, q, sp.vecs, sp.Len(), sp.norms(), func(qq int, keys []float32, t0 int) {
		nk.Offer(pos[int32(qq)], keys, t0, qq)
	})
	if err != nil {
		b.Fatal(err)
	}
	hit := 0
	for i, item := range idx {
		_, want := nk.Row(i)
		got := g.index[int(item)*g.K : (int(item)+1)*g.K]
		for _, w := range want {
			if containsIdx(got, w) {
				hit++
			}
		}
	}
	return float64(hit) / float64(q*g.K)
}
