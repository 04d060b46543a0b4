package look_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/internal/vecmath"
	"github.com/shoalhq/shoal/search/look"
)

// The ANN benchmark's pool: SHOAL_ANN_BENCH_N vectors (default 1,000,000)
// of dimension annDim in annClusters Gaussian clusters, the same data as
// feedback's BenchmarkANNRound.
const (
	annDim       = 256
	annClusters  = 2000
	annNamespace = "pool"
	annK         = 10
)

// annBenchSizes returns the pool size and the number of items sampled
// for the kNN graph (SHOAL_ANN_BENCH_SAMPLE, default 10,000), or skips the
// benchmark unless SHOAL_ANN_BENCH=1.
func annBenchSizes(b *testing.B) (n, sample int) {
	b.Helper()
	if os.Getenv("SHOAL_ANN_BENCH") != "1" {
		b.Skip("builds a large store with and without an HNSW graph: set SHOAL_ANN_BENCH=1 (and SHOAL_ANN_BENCH_N, default 1000000) to run it")
	}
	env := func(name string, def, least int) int {
		s := os.Getenv(name)
		if s == "" {
			return def
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < least {
			b.Fatalf("%s=%q: want an integer ≥ %d", name, s, least)
		}
		return v
	}
	n = env("SHOAL_ANN_BENCH_N", 1_000_000, 10*annClusters)
	return n, min(n, env("SHOAL_ANN_BENCH_SAMPLE", 10_000, annK+1))
}

// annPool holds the same records in an exact store and in one with an
// HNSW graph (M 16, efConstruction 200, default efSearch).
type annPool struct {
	exact, hnsw *memory.Store
	exactBuild  time.Duration
	hnswBuild   time.Duration
}

var annPools = map[int]*annPool{}

// annStores builds (once per size) n seeded vectors around annClusters
// unit centres, noise 0.075 per dimension.
func annStores(b *testing.B, n int) *annPool {
	b.Helper()
	if p := annPools[n]; p != nil {
		return p
	}
	exact, err := memory.New(memory.WithMetric(index.Cosine), memory.WithDimension(annDim))
	if err != nil {
		b.Fatal(err)
	}
	hnsw, err := memory.New(memory.WithMetric(index.Cosine), memory.WithDimension(annDim),
		memory.WithHNSW(16, 200, 0), memory.WithHNSWThreshold(0))
	if err != nil {
		b.Fatal(err)
	}
	p := &annPool{exact: exact, hnsw: hnsw}
	r := rand.New(rand.NewPCG(14, 256))
	centres := make([][]float32, annClusters)
	for c := range centres {
		centres[c] = make([]float32, annDim)
		for j := range annDim {
			centres[c][j] = float32(r.NormFloat64())
		}
		vecmath.Normalize(centres[c])
	}
	ctx := context.Background()
	const chunk = 50_000
	recs := make([]index.Record, 0, chunk)
	for i := range n {
		c := i % annClusters
		v := make([]float32, annDim)
		for j := range v {
			v[j] = centres[c][j] + float32(0.075*r.NormFloat64())
		}
		recs = append(recs, index.Record{ID: fmt.Sprintf("i%07d", i), Vector: v, Metadata: index.Metadata{"cluster": c}})
		if len(recs) == chunk || i == n-1 {
			t0 := time.Now()
			if err := exact.Upsert(ctx, annNamespace, recs); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := hnsw.Upsert(ctx, annNamespace, recs); err != nil {
				b.Fatal(err)
			}
			p.exactBuild += t1.Sub(t0)
			p.hnswBuild += time.Since(t1)
			recs = recs[:0]
		}
	}
	b.Logf("pool of %d × %d: exact store filled in %v, HNSW store (graph built on Upsert) in %v",
		n, annDim, p.exactBuild.Round(time.Millisecond), p.hnswBuild.Round(time.Millisecond))
	annPools[n] = p
	return p
}

// countingStore counts the queries that reach the store, and the
// filtered ones (which may scan instead of walking the graph).
type countingStore struct {
	*memory.Store
	queries, filtered atomic.Int64
}

func (c *countingStore) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	c.queries.Add(1)
	if !q.Filter.IsZero() {
		c.filtered.Add(1)
	}
	return c.Store.Query(ctx, q)
}

// BenchmarkANNNeighbors times the kNN graph (k = 10) of a sample of the
// pool above (SHOAL_ANN_BENCH_SAMPLE items, default 10,000, the same
// sample from both stores) through the store method (WithStoreQueries:
// one store query per item, neighbours from the whole pool) on the exact
// store and on the store with an HNSW graph, and look's in-memory exact
// method for reference (neighbours within the sample only). It reports
// the time per item and, for the graph, recall@10 against the exact
// store's neighbours. The table is logged with -v. It needs
// SHOAL_ANN_BENCH=1; the graph build takes minutes (1–6 for 100k on 2
// shared cores, 12 for 1M), and at 1M each exact store query about 65 ms,
// so sample fewer items there (SHOAL_ANN_BENCH_SAMPLE=1000):
//
//	SHOAL_ANN_BENCH=1 SHOAL_ANN_BENCH_N=100000 go test -run '^$' -bench ANNNeighbors -benchtime 1x -timeout 2h ./search/look
func BenchmarkANNNeighbors(b *testing.B) {
	n, sample := annBenchSizes(b)
	p := annStores(b, n)
	ctx := context.Background()
	type result struct {
		perItem time.Duration
		total   time.Duration
		ids     [][]string // each item's neighbours
		queries int64
	}
	results := map[string]*result{}
	var sampleIDs []string
	for _, m := range []struct {
		name     string
		store    *memory.Store
		viaStore bool
	}{{"exact/store=exact", p.exact, false}, {"store/store=exact", p.exact, true}, {"store/store=hnsw", p.hnsw, true}} {
		b.Run("method="+m.name, func(b *testing.B) {
			res := &result{}
			cs := &countingStore{Store: m.store}
			for b.Loop() {
				b.StopTimer()
				sp, err := look.Load(ctx, cs, annNamespace, look.WithMaxItems(sample))
				if err != nil {
					b.Fatal(err)
				}
				ids := make([]string, sp.Len())
				for i := range ids {
					it, err := sp.Item(i)
					if err != nil {
						b.Fatal(err)
					}
					ids[i] = it.ID
				}
				if sampleIDs == nil {
					sampleIDs = ids
				} else if fmt.Sprint(ids) != fmt.Sprint(sampleIDs) {
					b.Fatal("the stores gave different samples")
				}
				opts := []look.Option{look.WithK(annK)}
				if m.viaStore {
					opts = append(opts, look.WithStoreQueries())
				}
				q0 := cs.queries.Load()
				b.StartTimer()
				t0 := time.Now()
				g, err := sp.Neighbors(ctx, opts...)
				if err != nil {
					b.Fatal(err)
				}
				res.total += time.Since(t0)
				b.StopTimer()
				res.queries = cs.queries.Load() - q0
				res.ids = make([][]string, sp.Len())
				for i := range res.ids {
					nbs, err := g.Neighbors(i)
					if err != nil {
						b.Fatal(err)
					}
					for _, nb := range nbs {
						res.ids[i] = append(res.ids[i], nb.ID)
					}
				}
				b.StartTimer()
			}
			res.total /= time.Duration(b.N)
			res.perItem = res.total / time.Duration(sample)
			results[m.name] = res
			b.ReportMetric(float64(res.perItem.Microseconds())/1e3, "ms/item")
			b.ReportMetric(res.total.Seconds(), "s/graph")
			if m.viaStore && res.queries != int64(sample) {
				b.Errorf("the store method made %d store queries for %d items", res.queries, sample)
			}
			if f := cs.filtered.Load(); f != 0 {
				b.Errorf("the store method made %d filtered queries: they need not walk the graph", f)
			}
			if m.store == p.hnsw {
				b.ReportMetric(p.hnswBuild.Seconds(), "graph-build-s")
				if ex := results["store/store=exact"]; ex != nil {
					b.ReportMetric(annRecall(ex.ids, res.ids), "recall")
				}
			}
		})
	}
	ex, st, an := results["exact/store=exact"], results["store/store=exact"], results["store/store=hnsw"]
	if ex == nil || st == nil || an == nil {
		return
	}
	b.Logf("look kNN graph, k=%d, %d items sampled from a pool of %d × %d:", annK, sample, n, annDim)
	b.Logf("  %-22s %10s %10s %8s", "method", "ms/item", "s/graph", "recall")
	b.Logf("  %-22s %10.3f %10.2f %8s", "exact (in the sample)", ms(ex.perItem), ex.total.Seconds(), "-")
	b.Logf("  %-22s %10.3f %10.2f %8.3f", "store, exact store", ms(st.perItem), st.total.Seconds(), 1.0)
	b.Logf("  %-22s %10.3f %10.2f %8.3f", "store, HNSW store", ms(an.perItem), an.total.Seconds(), annRecall(st.ids, an.ids))
	b.Logf("  speed-up of the store method with the graph %.1f×; graph build (once) %v, exact store fill %v",
		float64(st.total)/float64(an.total), p.hnswBuild.Round(time.Millisecond), p.exactBuild.Round(time.Millisecond))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

// annRecall is the share of want's neighbours that got also found, item
// by item.
func annRecall(want, got [][]string) float64 {
	hit, all := 0, 0
	for i := range min(len(want), len(got)) {
		in := map[string]bool{}
		for _, id := range got[i] {
			in[id] = true
		}
		for _, id := range want[i] {
			all++
			if in[id] {
				hit++
			}
		}
	}
	return float64(hit) / float64(max(all, 1))
}
