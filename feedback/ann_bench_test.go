package feedback_test

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/internal/vecmath"
	"github.com/shoalhq/shoal/search"
)

// The ANN benchmark's pool: SHOAL_ANN_BENCH_N vectors (default 1,000,000)
// of dimension annDim in annClusters Gaussian clusters; the items of every
// annTargetEvery-th cluster (0.5 % of the pool) carry label "target".
const (
	annDim         = 256
	annClusters    = 2000
	annTargetEvery = 200
	annNamespace   = "pool"
	annRoundK      = 50
)

// annBenchSize returns the pool size, or skips the benchmark unless
// SHOAL_ANN_BENCH=1.
func annBenchSize(b *testing.B) int {
	b.Helper()
	if os.Getenv("SHOAL_ANN_BENCH") != "1" {
		b.Skip("builds a large store with and without an HNSW graph: set SHOAL_ANN_BENCH=1 (and SHOAL_ANN_BENCH_N, default 1000000) to run it")
	}
	n := 1_000_000
	if s := os.Getenv("SHOAL_ANN_BENCH_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 10*annClusters {
			b.Fatalf("SHOAL_ANN_BENCH_N=%q: want an integer ≥ %d", s, 10*annClusters)
		}
		n = v
	}
	return n
}

// annPool holds the same records in an exact store and in one with an
// HNSW graph (M 16, efConstruction 200, default efSearch).
type annPool struct {
	n            int
	exact, hnsw  *memory.Store
	exactBuild   time.Duration
	hnswBuild    time.Duration
	targets      int
	firstTargets []string // the first target item of each target cluster
	background   []string // the sessions' background sample
}

var annPools = map[int]*annPool{}

// annStores builds (once per size) the pool described above, seeded.
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
	p := &annPool{n: n, exact: exact, hnsw: hnsw}
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
	flush := func() {
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
	for i := range n {
		c := i % annClusters
		v := make([]float32, annDim)
		for j := range v {
			v[j] = centres[c][j] + float32(0.075*r.NormFloat64())
		}
		label := "other"
		if c%annTargetEvery == 0 {
			label = "target"
			p.targets++
			if i < annClusters {
				p.firstTargets = append(p.firstTargets, fmt.Sprintf("i%07d", i))
			}
		}
		recs = append(recs, index.Record{ID: fmt.Sprintf("i%07d", i), Vector: v, Metadata: index.Metadata{"label": label}})
		if len(recs) == chunk || i == n-1 {
			flush()
		}
	}
	b.Logf("pool of %d × %d (%d targets): exact store filled in %v, HNSW store (graph built on Upsert) in %v",
		n, annDim, p.targets, p.exactBuild.Round(time.Millisecond), p.hnswBuild.Round(time.Millisecond))
	annPools[n] = p
	return p
}

// observedStore counts the calls a session makes, so the benchmark shows
// that a round is served by unfiltered store queries (which walk the graph
// when the store has one) and not by a scan.
type observedStore struct {
	*memory.Store
	queries, filtered, scans atomic.Int64
	maxTopK                  atomic.Int64

	record   atomic.Bool // keep the queries in recorded
	mu       sync.Mutex
	recorded []index.Query
}

func (o *observedStore) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	o.queries.Add(1)
	if !q.Filter.IsZero() {
		o.filtered.Add(1)
	}
	for {
		m := o.maxTopK.Load()
		if int64(q.TopK) <= m || o.maxTopK.CompareAndSwap(m, int64(q.TopK)) {
			break
		}
	}
	if o.record.Load() {
		c := q
		c.Vector = slices.Clone(q.Vector)
		o.mu.Lock()
		o.recorded = append(o.recorded, c)
		o.mu.Unlock()
	}
	return o.Store.Query(ctx, q)
}

// replay runs the recorded queries again, as the store serves them and
// exactly (memory.WithExact), and returns both times and the share of the
// exact matches that the served queries found.
func (o *observedStore) replay(ctx context.Context) (served, exact time.Duration, recall float64, err error) {
	hit, all := 0, 0
	for _, q := range o.recorded {
		t0 := time.Now()
		got, err := o.Store.Query(ctx, q)
		if err != nil {
			return 0, 0, 0, err
		}
		t1 := time.Now()
		want, err := o.Store.QueryWith(ctx, q, memory.WithExact())
		if err != nil {
			return 0, 0, 0, err
		}
		served += t1.Sub(t0)
		exact += time.Since(t1)
		in := make(map[string]bool, len(got))
		for _, m := range got {
			in[m.ID] = true
		}
		for _, m := range want {
			all++
			if in[m.ID] {
				hit++
			}
		}
	}
	return served, exact, float64(hit) / float64(max(all, 1)), nil
}

func (o *observedStore) Scan(ctx context.Context, namespace string, f index.Filter) iter.Seq2[index.Record, error] {
	o.scans.Add(1)
	return o.Store.Scan(ctx, namespace, f)
}

// annRoundStats is what one mode's benchmark measured.
type annRoundStats struct {
	msPerRound float64
	precision  float64
	roundIDs   [][]string // the timed rounds' results
	queries    float64    // store queries per timed round
	// The timed rounds' store queries replayed: their time as served and
	// exact, per round, and the recall of the served ones.
	queryMs, exactQueryMs, candidateRecall float64
}

// BenchmarkANNRound times feedback rounds over the pool above, once on
// the exact store and once on the store with an HNSW graph (same data):
// a bucket of 5 target examples (one from each of 5 target clusters),
// round 0 (plain similarity) marked from the labels, then each timed
// iteration is one feedback round of annRoundK results (reranker fit,
// guard, candidate queries through package search, re-scoring), marked
// from the labels in turn. It reports the mean Round.Elapsed (ms/round),
// the mean precision of the timed rounds, the store queries per round,
// those queries replayed after the rounds (their time per round,
// query-ms/round, and the share of the exact matches they found,
// candidate-recall) and, for the graph, the share of each round's results
// that the exact run also showed (overlap). The table is logged with -v.
// It needs SHOAL_ANN_BENCH=1; a pool of 1M × 256 takes about 3 GiB and a
// long graph build (on 2 shared cores: 1–6 minutes for 100k, 12 for 1M):
//
//	SHOAL_ANN_BENCH=1 SHOAL_ANN_BENCH_N=100000 go test -v -run '^$' -bench ANNRound -benchtime 3x -timeout 2h ./feedback
func BenchmarkANNRound(b *testing.B) {
	n := annBenchSize(b)
	p := annStores(b, n)
	stats := map[string]*annRoundStats{}
	for _, mode := range []struct {
		name  string
		store *memory.Store
	}{{"exact", p.exact}, {"hnsw", p.hnsw}} {
		b.Run("store="+mode.name, func(b *testing.B) {
			st := annRound(b, p, mode.store)
			stats[mode.name] = st
			b.ReportMetric(st.msPerRound, "ms/round")
			b.ReportMetric(st.precision, "precision")
			b.ReportMetric(st.queries, "queries/round")
			b.ReportMetric(st.queryMs, "query-ms/round")
			b.ReportMetric(st.candidateRecall, "candidate-recall")
			if mode.name == "hnsw" {
				b.ReportMetric(p.hnswBuild.Seconds(), "graph-build-s")
				if ex := stats["exact"]; ex != nil {
					b.ReportMetric(annOverlap(ex.roundIDs, st.roundIDs), "overlap")
				}
			}
		})
	}
	ex, an := stats["exact"], stats["hnsw"]
	if ex == nil || an == nil {
		return
	}
	b.Logf("feedback round, k=%d, pool %d × %d (%d targets):", annRoundK, n, annDim, p.targets)
	b.Logf("  %-6s %10s %10s %14s %15s %17s", "store", "ms/round", "precision", "queries/round", "query-ms/round", "candidate-recall")
	b.Logf("  %-6s %10.1f %10.3f %14.1f %15.1f %17.3f", "exact", ex.msPerRound, ex.precision, ex.queries, ex.queryMs, ex.candidateRecall)
	b.Logf("  %-6s %10.1f %10.3f %14.1f %15.1f %17.3f", "hnsw", an.msPerRound, an.precision, an.queries, an.queryMs, an.candidateRecall)
	b.Logf("  the hnsw run's queries replayed exactly: %.1f ms/round", an.exactQueryMs)
	b.Logf("  speed-up %.1f×, overlap of the results with the exact run %.3f; graph build (once) %v, exact store fill %v",
		ex.msPerRound/an.msPerRound, annOverlap(ex.roundIDs, an.roundIDs), p.hnswBuild.Round(time.Millisecond), p.exactBuild.Round(time.Millisecond))
}

// annRound runs the scenario of BenchmarkANNRound on store.
func annRound(b *testing.B, p *annPool, store *memory.Store) *annRoundStats {
	ctx := context.Background()
	obs := &observedStore{Store: store}
	bucket := search.Bucket{}
	for _, id := range p.firstTargets[:5] {
		bucket.Positives = append(bucket.Positives, search.ByID(id))
	}
	// The background sample is drawn once for both stores (a Scan of the
	// pool), so that the first timed round does not pay for it.
	if p.background == nil {
		ids, err := feedback.SampleBackground(ctx, store, annNamespace, index.Filter{}, feedback.DefaultBackground)
		if err != nil {
			b.Fatal(err)
		}
		p.background = ids
	}
	s, err := feedback.NewSession(obs, annNamespace, bucket, feedback.WithBackgroundSample(p.background))
	if err != nil {
		b.Fatal(err)
	}
	markFromLabels := func(res []feedback.Result) (relevant int) {
		marks := make([]feedback.Mark, len(res))
		for i, r := range res {
			marks[i] = feedback.Mark{ID: r.ID, Relevant: r.Metadata["label"] == "target"}
			if marks[i].Relevant {
				relevant++
			}
		}
		if err := s.MarkAll(ctx, marks...); err != nil {
			b.Fatal(err)
		}
		return relevant
	}
	res, err := s.Results(ctx, annRoundK) // round 0: similarity
	if err != nil {
		b.Fatal(err)
	}
	markFromLabels(res)
	st := &annRoundStats{}
	q0, f0, s0 := obs.queries.Load(), obs.filtered.Load(), obs.scans.Load()
	obs.record.Store(true)
	var relevant, shown int
	for b.Loop() {
		res, err := s.Results(ctx, annRoundK)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		relevant += markFromLabels(res)
		shown += len(res)
		ids := make([]string, len(res))
		for i, r := range res {
			ids[i] = r.ID
		}
		st.roundIDs = append(st.roundIDs, ids)
		b.StartTimer()
	}
	obs.record.Store(false)
	rounds := s.Rounds()[1:]
	var elapsed time.Duration
	for _, r := range rounds {
		elapsed += r.Elapsed
	}
	st.msPerRound = float64(elapsed.Microseconds()) / 1e3 / float64(len(rounds))
	st.precision = float64(relevant) / float64(max(shown, 1))
	st.queries = float64(obs.queries.Load()-q0) / float64(len(rounds))
	if f, sc := obs.filtered.Load()-f0, obs.scans.Load()-s0; f != 0 || sc != 0 {
		b.Errorf("the timed rounds made %d filtered queries and %d scans: not all of the round is served by (graph) queries", f, sc)
	}
	served, exact, recall, err := obs.replay(ctx)
	if err != nil {
		b.Fatal(err)
	}
	st.queryMs = float64(served.Microseconds()) / 1e3 / float64(len(rounds))
	st.exactQueryMs = float64(exact.Microseconds()) / 1e3 / float64(len(rounds))
	st.candidateRecall = recall
	last := rounds[len(rounds)-1]
	b.Logf("%d timed rounds, last: %v (%s); largest TopK asked %d", len(rounds), last.Strategy, last.Reason, obs.maxTopK.Load())
	return st
}

// annOverlap is the mean share of each round's results in got that the
// same round showed in want.
func annOverlap(want, got [][]string) float64 {
	var sum float64
	rounds := min(len(want), len(got))
	for r := range rounds {
		in := map[string]bool{}
		for _, id := range want[r] {
			in[id] = true
		}
		hit := 0
		for _, id := range got[r] {
			if in[id] {
				hit++
			}
		}
		sum += float64(hit) / float64(max(len(want[r]), 1))
	}
	return sum / float64(max(rounds, 1))
}
