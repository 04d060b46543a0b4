package feedback_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/internal/vecmath"
	"github.com/shoalhq/shoal/search"
)

// BenchmarkLogisticFit fits the default reranker on n marks of dimension d
// (a quarter relevant), overlapping classes.
func BenchmarkLogisticFit(b *testing.B) {
	for _, d := range []int{256, 784} {
		for _, n := range []int{100, 300, 1000} {
			b.Run(fmt.Sprintf("d=%d/n=%d", d, n), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, uint64(d*n)))
				cPos, cNeg := make([]float64, d), make([]float64, d)
				for j := range d {
					cPos[j] = r.NormFloat64() * 0.05
					cNeg[j] = cPos[j] + r.NormFloat64()*0.03
				}
				rel, nrel := blobs(r, n/4, cPos, 0.1), blobs(r, n-n/4, cNeg, 0.1)
				for b.Loop() {
					lr := &feedback.Logistic{}
					if err := lr.Fit(context.Background(), rel, nrel); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// clusteredStore fills namespace "pool" of a cosine store with n vectors
// of dimension d in n/1000 clusters; cluster c's items are "c<c>a-<i>"
// when their offset from the centre is positive along the first axis,
// "c<c>b-<i>" otherwise.
func clusteredStore(b *testing.B, n, d int) *memory.Store {
	b.Helper()
	store, err := memory.New(memory.WithMetric(index.Cosine))
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(42, uint64(n)))
	clusters := max(n/1000, 2)
	centres := make([][]float32, clusters)
	for c := range centres {
		centres[c] = make([]float32, d)
		for j := range d {
			centres[c][j] = float32(r.NormFloat64())
		}
		vecmath.Normalize(centres[c])
	}
	const chunk = 10_000
	recs := make([]index.Record, 0, chunk)
	for i := range n {
		c := i % clusters
		v := make([]float32, d)
		for j := range d {
			v[j] = centres[c][j] + float32(r.NormFloat64()*0.06)
		}
		side := "a"
		if v[0] < centres[c][0] {
			side = "b"
		}
		recs = append(recs, index.Record{ID: fmt.Sprintf("c%d%s-%d", c, side, i/clusters), Vector: v})
		if len(recs) == chunk || i == n-1 {
			if err := store.Upsert(context.Background(), "pool", recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	return store
}

// benchRound measures one steady-state feedback round on store: a new
// mark, then Results(20), which refits the reranker with the guard's five
// cross-validation fits, queries the store with the weight vector and
// re-scores the candidates. The session has the bucket's 5 examples, 60
// marks from three earlier rounds and the background sample of 200.
func benchRound(b *testing.B, store *memory.Store) {
	ctx := context.Background()
	// The bucket: the first 5 of cluster 0's side a.
	// The mark toggled each round: an item of cluster 1.
	bucket := search.Bucket{}
	var extra string
	for rec, err := range store.Scan(ctx, "pool", index.Filter{}) {
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(rec.ID, "c0a-") && len(bucket.Positives) < 5 {
			bucket.Positives = append(bucket.Positives, search.ByID(rec.ID))
		}
		if extra == "" && strings.HasPrefix(rec.ID, "c1") {
			extra = rec.ID
		}
	}
	s, err := feedback.NewSession(store, "pool", bucket)
	if err != nil {
		b.Fatal(err)
	}
	mark := func(res []feedback.Result) {
		for _, r := range res {
			// Side a of cluster 0 is relevant: the reranker has to split
			// the cluster.
			if err := s.Mark(ctx, r.ID, strings.HasPrefix(r.ID, "c0a-")); err != nil {
				b.Fatal(err)
			}
		}
	}
	for range 3 {
		res, err := s.Results(ctx, 20)
		if err != nil {
			b.Fatal(err)
		}
		mark(res)
	}
	flip := false
	for b.Loop() {
		flip = !flip
		if err := s.Mark(ctx, extra, flip); err != nil { // a new version of the marks
			b.Fatal(err)
		}
		if _, err := s.Results(ctx, 20); err != nil {
			b.Fatal(err)
		}
	}
	rounds := s.Rounds()
	last := rounds[len(rounds)-1]
	b.ReportMetric(float64(last.TrainedRelevant+last.TrainedNotRelevant), "trained")
	b.Logf("last round: %v, %s", last.Strategy, last.Reason)
}

// BenchmarkRound is one feedback round over 100,000 × 256-d vectors in
// index/memory.
func BenchmarkRound(b *testing.B) {
	benchRound(b, clusteredStore(b, 100_000, 256))
}

// BenchmarkRoundMillion is one feedback round over 1,000,000 × 256-d
// vectors in index/memory (the store takes about 1 GiB and a minute to
// build, so it runs only with SHOAL_BENCH_LARGE=1).
func BenchmarkRoundMillion(b *testing.B) {
	if os.Getenv("SHOAL_BENCH_LARGE") != "1" {
		b.Skip("builds a 1M-vector store: set SHOAL_BENCH_LARGE=1 to run it")
	}
	benchRound(b, clusteredStore(b, 1_000_000, 256))
}
