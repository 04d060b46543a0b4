package feedback_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search"
)

func TestNewSessionErrors(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 1)
	_, err := feedback.NewSession(nil, "pool", p.bucket)
	assert.ErrorIs(t, err, feedback.ErrInvalidOption)

	_, err = feedback.NewSession(p.store, "pool", search.Bucket{})
	assert.ErrorIs(t, err, search.ErrInvalidBucket)

	bad := []struct {
		name string
		opt  feedback.Option
	}{
		{"nil reranker", feedback.WithReranker(nil)},
		{"metric", feedback.WithMetric(index.Metric(9))},
		{"aggregation", feedback.WithAggregation(search.Aggregation(9))},
		{"encoder", feedback.WithEncoder(nil)},
		{"filter", feedback.WithFilter(index.Filter{Op: index.Op(99)})},
		{"candidates 0", feedback.WithCandidates(0)},
		{"candidates too many", feedback.WithCandidates(index.MaxTopK + 1)},
		{"scan threshold", feedback.WithScanThreshold(-1)},
		{"background", feedback.WithBackground(-1)},
		{"background too large", feedback.WithBackground(feedback.MaxBackground + 1)},
		{"margin", feedback.WithGuardMargin(-0.1)},
		{"margin NaN", feedback.WithGuardMargin(math.NaN())},
		{"metric contradicts the store's", feedback.WithMetric(index.DotProduct)},
	}
	for _, tt := range bad {
		_, err := feedback.NewSession(p.store, "pool", p.bucket, tt.opt)
		assert.ErrorIs(t, err, feedback.ErrInvalidOption, tt.name)
		assert.ErrorIs(t, err, index.ErrInvalidArgument, tt.name)
	}
	_, err = feedback.NewSession(p.store, "pool", p.bucket, feedback.WithMetric(index.DotProduct))
	assert.EqualError(t, err, "feedback: WithMetric(dot) contradicts the store's metric cosine")
	_, err = feedback.NewSession(p.store, "pool", p.bucket, feedback.WithFilter(index.Eq("kind", []int{1})))
	assert.EqualError(t, err, `feedback: WithFilter: invalid filter: eq "kind": value of type []int (want string, bool or number)`)

	s, err := feedback.NewSession(p.store, "pool", p.bucket)
	require.NoError(t, err)
	for _, k := range []int{0, -1, index.MaxTopK + 1} {
		_, err = s.Results(context.Background(), k)
		assert.ErrorIs(t, err, feedback.ErrInvalidOption, "k=%d", k)
		_, err = s.Suggest(context.Background(), k)
		assert.ErrorIs(t, err, feedback.ErrInvalidOption, "n=%d", k)
	}
	assert.Empty(t, s.Rounds())

	// A bucket ID missing from the namespace fails the first round.
	s, err = feedback.NewSession(p.store, "pool", search.Bucket{Positives: []search.Example{search.ByID("ghost")}})
	require.NoError(t, err)
	_, err = s.Results(context.Background(), 5)
	assert.ErrorIs(t, err, index.ErrNotFound)
	assert.ErrorContains(t, err, `"ghost"`)
}

func TestMarkUnknownID(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 1)
	s, err := feedback.NewSession(p.store, p.ns, p.bucket)
	require.NoError(t, err)
	ctx := context.Background()

	err = s.Mark(ctx, "no-such-item", true)
	assert.ErrorIs(t, err, feedback.ErrUnknownID)
	assert.ErrorIs(t, err, index.ErrNotFound)
	assert.ErrorContains(t, err, `"no-such-item"`)

	// All or nothing: the known ID is not marked either.
	err = s.MarkAll(ctx, feedback.Mark{ID: "rel-0010", Relevant: true}, feedback.Mark{ID: "ghost-1"}, feedback.Mark{ID: "ghost-2"})
	assert.ErrorIs(t, err, feedback.ErrUnknownID)
	assert.ErrorContains(t, err, `"ghost-1", "ghost-2"`)
	assert.Empty(t, s.Marks())

	err = s.Mark(ctx, "", true)
	assert.ErrorIs(t, err, index.ErrInvalidID)
	assert.NoError(t, s.MarkAll(ctx))
}

func TestMarkTwiceLastWins(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 2)
	s, err := feedback.NewSession(p.store, p.ns, p.bucket)
	require.NoError(t, err)
	ctx := context.Background()
	res, err := s.Results(ctx, 4)
	require.NoError(t, err)
	a, b := res[0].ID, res[1].ID

	require.NoError(t, s.Mark(ctx, a, true))
	require.NoError(t, s.Mark(ctx, a, false))
	require.NoError(t, s.MarkAll(ctx, feedback.Mark{ID: b, Relevant: false}, feedback.Mark{ID: b, Relevant: true}))
	assert.Equal(t, []feedback.Mark{{ID: a, Relevant: false}, {ID: b, Relevant: true}}, s.Marks())

	r := s.Rounds()[0]
	assert.Equal(t, 4, r.Shown())
	assert.Equal(t, 2, r.Marked)
	assert.Equal(t, 1, r.Relevant)
	assert.InDelta(t, 0.5, r.Precision(), 1e-12)

	require.NoError(t, s.Mark(ctx, a, true)) // changes the round's counts
	assert.Equal(t, 2, s.Rounds()[0].Relevant)
}

func TestPrecisionRisesOverRounds(t *testing.T) {
	t.Parallel()
	const seeds, rounds = 6, 6
	feedbackPrec := make([]float64, rounds)
	similarityPrec := make([]float64, rounds)
	for seed := range uint64(seeds) {
		p := plantedPool(t, index.Cosine, seed)
		s, err := feedback.NewSession(p.store, p.ns, p.bucket)
		require.NoError(t, err)
		for i, x := range play(t, s, rounds, 20) {
			feedbackPrec[i] += x / seeds
		}
		for i, r := range s.Rounds() {
			if i == 0 {
				assert.Equal(t, feedback.Similarity, r.Strategy)
			} else {
				assert.NotEmpty(t, r.Reason)
				assert.Positive(t, r.TrainedRelevant)
				assert.Positive(t, r.TrainedNotRelevant)
			}
		}
		// The same rounds without marks: plain similarity, page after page.
		plain, err := feedback.NewSession(p.store, p.ns, p.bucket)
		require.NoError(t, err)
		for i := range rounds {
			res, err := plain.Results(context.Background(), 20)
			require.NoError(t, err)
			for _, r := range res {
				if relevant(r.ID) {
					similarityPrec[i] += 1.0 / 20 / seeds
				}
			}
		}
	}
	t.Logf("feedback:   %.2f", feedbackPrec)
	t.Logf("similarity: %.2f", similarityPrec)
	late := (feedbackPrec[3] + feedbackPrec[4] + feedbackPrec[5]) / 3
	lateSim := (similarityPrec[3] + similarityPrec[4] + similarityPrec[5]) / 3
	assert.GreaterOrEqual(t, late, 0.7)
	assert.Greater(t, late, feedbackPrec[0]+0.1, "precision rises from round 0")
	assert.Greater(t, late, lateSim+0.2, "feedback beats plain similarity at the same depth")
}

// TestOneClassMarks marks only the relevant results, or only the
// not-relevant ones, and expects a useful next round.
func TestOneClassMarks(t *testing.T) {
	t.Parallel()
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("only relevant=%v", keep), func(t *testing.T) {
			t.Parallel()
			var got float64
			const seeds = 3
			for seed := range uint64(seeds) {
				p := plantedPool(t, index.Cosine, seed+10)
				s, err := feedback.NewSession(p.store, p.ns, p.bucket)
				require.NoError(t, err)
				ctx := context.Background()
				res, err := s.Results(ctx, 30)
				require.NoError(t, err)
				var marks []feedback.Mark
				for _, r := range res {
					if relevant(r.ID) == keep {
						marks = append(marks, feedback.Mark{ID: r.ID, Relevant: keep})
					}
				}
				require.NotEmpty(t, marks)
				require.NoError(t, s.MarkAll(ctx, marks...))
				res, err = s.Results(ctx, 20)
				require.NoError(t, err)
				require.Len(t, res, 20)
				for _, r := range res {
					if relevant(r.ID) {
						got += 1.0 / 20 / seeds
					}
				}
				// One class: nothing to check the reranker on. Only relevant
				// marks: the similarity does well, so the round hedges; only
				// not-relevant ones: it does not, so the reranker runs.
				want := map[bool]feedback.Strategy{true: feedback.Blend, false: feedback.Classifier}[keep]
				assert.Equal(t, want, s.Rounds()[1].Strategy, s.Rounds()[1].Reason)
				assert.False(t, s.Rounds()[1].Checked)
			}
			// Relevant items are a seventh of the pool, and plain similarity
			// finds about 55% at this depth.
			assert.GreaterOrEqual(t, got, 0.6, "precision of the round after one-class marks")
		})
	}
}

func TestEmptyPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := memory.New()
	require.NoError(t, err)
	defer store.Close()
	bucket := search.Bucket{Positives: []search.Example{search.ByVector([]float32{1, 0, 0})}}
	s, err := feedback.NewSession(store, "nothing-here", bucket)
	require.NoError(t, err)
	res, err := s.Results(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, res)
	sug, err := s.Suggest(ctx, 5)
	require.NoError(t, err)
	assert.Empty(t, sug)
	require.Len(t, s.Rounds(), 1)
	assert.True(t, math.IsNaN(s.Rounds()[0].Precision()))

	// A pool that runs out: 9 records besides the bucket item, pages of 4.
	var recs []index.Record
	for i := range 10 {
		recs = append(recs, index.Record{ID: fmt.Sprintf("r%d", i), Vector: []float32{1, float32(i) / 10, float32(i % 3)}})
	}
	require.NoError(t, store.Upsert(ctx, "small", recs))
	for _, scan := range []int{0, 100} {
		s, err = feedback.NewSession(store, "small", search.Bucket{Positives: []search.Example{search.ByID("r0")}},
			feedback.WithScanThreshold(scan))
		require.NoError(t, err)
		var all []string
		for _, want := range []int{4, 4, 1, 0} {
			res, err := s.Results(ctx, 4)
			require.NoError(t, err)
			require.Len(t, res, want)
			for _, r := range res {
				all = append(all, r.ID)
				require.NoError(t, s.Mark(ctx, r.ID, r.ID < "r5"))
			}
		}
		slices.Sort(all)
		assert.Equal(t, []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}, all, "every item once, never the bucket's")
	}
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 3)
	ctx := context.Background()

	s, err := feedback.NewSession(p.store, p.ns, p.bucket)
	require.NoError(t, err)
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Results(done, 10)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = s.Suggest(done, 10)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, s.Mark(done, "rel-0007", true), context.Canceled)
	assert.Empty(t, s.Rounds())
	assert.Empty(t, s.Marks())

	// Cancelled in the middle of a round: during the store query.
	cs := &countingStore{VectorStore: p.store}
	s, err = feedback.NewSession(cs, p.ns, p.bucket, feedback.WithScanThreshold(0))
	require.NoError(t, err)
	play(t, s, 1, 20)
	mid, cancelMid := context.WithCancel(ctx)
	defer cancelMid()
	cs.onQuery = func(int64) error {
		cancelMid()
		return mid.Err()
	}
	_, err = s.Results(mid, 20)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Len(t, s.Rounds(), 1, "no round recorded")
	cs.onQuery = nil
	res, err := s.Results(ctx, 20)
	require.NoError(t, err, "the session goes on")
	assert.Len(t, res, 20)
}

func TestSaveResume(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 4)
	ctx := context.Background()
	s, err := feedback.NewSession(p.store, p.ns, p.bucket, feedback.WithScanThreshold(0))
	require.NoError(t, err)
	play(t, s, 3, 10)
	res, err := s.Results(ctx, 5) // a round left unmarked
	require.NoError(t, err)
	require.NoError(t, s.Mark(ctx, res[0].ID, relevant(res[0].ID)))

	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	var raw map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &raw))
	assert.EqualValues(t, feedback.SaveVersion, raw["version"])

	r, err := feedback.Resume(ctx, bytes.NewReader(buf.Bytes()), p.store, feedback.WithScanThreshold(0))
	require.NoError(t, err)
	assert.Equal(t, s.Namespace(), r.Namespace())
	assert.Equal(t, s.Bucket(), r.Bucket())
	assert.Equal(t, s.Marks(), r.Marks())
	assert.Equal(t, roundsForCompare(s.Rounds()), roundsForCompare(r.Rounds()))

	// Both go on identically.
	want, err := s.Results(ctx, 10)
	require.NoError(t, err)
	got, err := r.Results(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, ids(want), ids(got))
	assert.Equal(t, s.Rounds()[4].Strategy, r.Rounds()[4].Strategy)

	// Saving the resumed session gives the same document.
	var again bytes.Buffer
	r2, err := feedback.Resume(ctx, bytes.NewReader(buf.Bytes()), p.store)
	require.NoError(t, err)
	require.NoError(t, r2.Save(&again))
	assert.JSONEq(t, buf.String(), again.String())
}

// roundsForCompare blanks what NaN makes incomparable.
func roundsForCompare(rs []feedback.Round) []feedback.Round {
	for i := range rs {
		if !rs[i].Checked {
			rs[i].ClassifierAUC, rs[i].SimilarityAUC = -1, -1
		}
	}
	return rs
}

func ids(rs []feedback.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestResumeErrors(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 5)
	ctx := context.Background()
	s, err := feedback.NewSession(p.store, p.ns, p.bucket)
	require.NoError(t, err)
	play(t, s, 1, 5)
	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	good := buf.String()

	bad := map[string]string{
		"not JSON":       "{",
		"version 2":      strings.Replace(good, `"version": 1`, `"version": 2`, 1),
		"no version":     strings.Replace(good, `"version": 1`, `"versio": 1`, 1),
		"empty bucket":   `{"version":1,"namespace":"pool","bucket":{"positives":[]},"marks":[],"rounds":[]}`,
		"marked twice":   `{"version":1,"namespace":"pool","bucket":{"positives":[{"id":"rel-0000"}]},"marks":[{"id":"rel-0001","relevant":true},{"id":"rel-0001","relevant":false}],"rounds":[]}`,
		"bad mark id":    `{"version":1,"namespace":"pool","bucket":{"positives":[{"id":"rel-0000"}]},"marks":[{"id":"","relevant":true}],"rounds":[]}`,
		"bad strategy":   `{"version":1,"namespace":"pool","bucket":{"positives":[{"id":"rel-0000"}]},"marks":[],"rounds":[{"strategy":"magic","ids":[]}]}`,
		"bad AUC":        `{"version":1,"namespace":"pool","bucket":{"positives":[{"id":"rel-0000"}]},"marks":[],"rounds":[{"strategy":"blend","ids":[],"classifierAUC":2,"similarityAUC":0.5}]}`,
		"half AUC":       `{"version":1,"namespace":"pool","bucket":{"positives":[{"id":"rel-0000"}]},"marks":[],"rounds":[{"strategy":"blend","ids":[],"classifierAUC":0.5}]}`,
		"bad background": `{"version":1,"namespace":"pool","bucket":{"positives":[{"id":"rel-0000"}]},"marks":[],"rounds":[],"background":[""]}`,
	}
	for name, doc := range bad {
		_, err := feedback.Resume(ctx, strings.NewReader(doc), p.store)
		assert.ErrorIs(t, err, feedback.ErrBadSession, name)
	}

	// A marked record deleted since: named.
	marked := s.Marks()[0].ID
	require.NoError(t, p.store.Delete(ctx, p.ns, []string{marked}))
	_, err = feedback.Resume(ctx, strings.NewReader(good), p.store)
	assert.ErrorIs(t, err, feedback.ErrUnknownID)
	assert.ErrorContains(t, err, fmt.Sprintf("%q", marked))

	_, err = feedback.Resume(ctx, strings.NewReader(good), p.store, feedback.WithCandidates(0))
	assert.ErrorIs(t, err, feedback.ErrInvalidOption)
}

// inverted is a reranker that ranks backwards: it contradicts the marks it
// was fitted on.
type inverted struct{ feedback.Logistic }

func (r *inverted) Score(v [][]float32) []float32 {
	s := r.Logistic.Score(v)
	for i := range s {
		s[i] = -s[i]
	}
	return s
}

func (r *inverted) Weights() ([]float32, float32) {
	w, b := r.Logistic.Weights()
	neg := make([]float32, len(w))
	for i, x := range w {
		neg[i] = -x
	}
	return neg, -b
}

func TestGuardFallsBack(t *testing.T) {
	t.Parallel()
	for _, guard := range []bool{true, false} {
		t.Run(fmt.Sprintf("guard=%v", guard), func(t *testing.T) {
			t.Parallel()
			p := plantedPool(t, index.Cosine, 6)
			s, err := feedback.NewSession(p.store, p.ns, p.bucket, feedback.WithGuard(guard),
				feedback.WithReranker(func() feedback.Reranker { return &inverted{} }))
			require.NoError(t, err)
			prec := play(t, s, 4, 20)
			rounds := s.Rounds()
			for _, r := range rounds[1:] {
				if !guard {
					assert.Equal(t, feedback.Classifier, r.Strategy)
					assert.False(t, r.Checked)
					continue
				}
				if !r.Checked {
					// Too few not-relevant marks yet: the round blends, and
					// the reranker's (inverted) share brings the negatives
					// the guard needs.
					assert.Equal(t, feedback.Blend, r.Strategy, r.Reason)
					assert.Contains(t, r.Reason, "too few")
					continue
				}
				// Checked: never the reranker alone; blended while the gap is
				// within the AUC's standard error on few marks, replaced by
				// the similarity beyond it.
				assert.Less(t, r.ClassifierAUC, r.SimilarityAUC)
				if r.Strategy == feedback.Blend {
					assert.Contains(t, r.Reason, "within")
					continue
				}
				assert.Equal(t, feedback.Similarity, r.Strategy, r.Reason)
				assert.Contains(t, r.Reason, "falling back")
			}
			if guard {
				assert.True(t, rounds[3].Checked, "the guard engages by round 3")
				assert.Equal(t, feedback.Similarity, rounds[3].Strategy)
				assert.Greater(t, prec[3], 0.3, "the fallback has the similarity's precision")
			} else {
				assert.Less(t, prec[3], 0.1, "an inverted reranker unguarded ranks the irrelevant first")
			}
		})
	}
}

// TestScanMatchesQueries checks that retrieval by the reranker's weight
// vector finds exactly what a full re-score finds, for the metrics where
// the store's ranking by w is exact.
func TestScanMatchesQueries(t *testing.T) {
	t.Parallel()
	for _, metric := range []index.Metric{index.Cosine, index.DotProduct} {
		t.Run(metric.String(), func(t *testing.T) {
			t.Parallel()
			p := plantedPool(t, metric, 7)
			run := func(scan int) ([]string, *countingStore) {
				cs := &countingStore{VectorStore: p.store}
				s, err := feedback.NewSession(cs, p.ns, p.bucket, feedback.WithMetric(metric),
					feedback.WithGuard(false), feedback.WithScanThreshold(scan))
				require.NoError(t, err)
				play(t, s, 2, 20)
				res, err := s.Results(context.Background(), 20)
				require.NoError(t, err)
				return ids(res), cs
			}
			full, fullStore := run(100_000)
			queried, queryStore := run(0)
			assert.Equal(t, full, queried)
			assert.Equal(t, int64(1), queryStore.scans.Load(), "only the background sample scans")
			assert.Equal(t, int64(3), fullStore.scans.Load(), "the background sample and two re-scored rounds")
		})
	}
}

func TestOtherMetricsAndRerankers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		metric index.Metric
		rr     func() feedback.Reranker
		scan   int
	}{
		{"euclidean queries", index.Euclidean, nil, 0},
		{"euclidean scan", index.Euclidean, nil, 100_000},
		{"dot", index.DotProduct, nil, 0},
		{"rocchio", index.Cosine, func() feedback.Reranker { return &feedback.Rocchio{} }, 0},
		{"non-linear reranker", index.Cosine, func() feedback.Reranker { return &opaque{} }, 0},
		{"hybrid queries", index.Cosine, func() feedback.Reranker { return &feedback.Hybrid{} }, 0},
		{"hybrid scan", index.Cosine, func() feedback.Reranker { return &feedback.Hybrid{} }, 100_000},
		{"hybrid euclidean", index.Euclidean, func() feedback.Reranker { return &feedback.Hybrid{} }, 0},
		{"max aggregation", index.Cosine, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mean float64
			for seed := range uint64(2) {
				p := plantedPool(t, tt.metric, 8+seed)
				opts := []feedback.Option{feedback.WithMetric(tt.metric), feedback.WithScanThreshold(tt.scan)}
				if tt.rr != nil {
					opts = append(opts, feedback.WithReranker(tt.rr))
				}
				if tt.name == "max aggregation" {
					opts = append(opts, feedback.WithAggregation(search.Max))
				}
				s, err := feedback.NewSession(p.store, p.ns, p.bucket, opts...)
				require.NoError(t, err)
				prec := play(t, s, 5, 20)
				t.Logf("%s, seed %d: %.2f", tt.name, seed, prec)
				mean += (prec[1] + prec[2] + prec[3] + prec[4]) / 8
			}
			// Plain similarity finds about 50% at these depths.
			want := 0.6
			if tt.name == "rocchio" {
				want = 0.5 // the baseline
			}
			assert.GreaterOrEqual(t, mean, want)
		})
	}
}

// opaque is a reranker that is not a LinearReranker.
type opaque struct{ lr feedback.Logistic }

func (o *opaque) Fit(ctx context.Context, rel, nrel [][]float32) error {
	return o.lr.Fit(ctx, rel, nrel)
}
func (o *opaque) Score(v [][]float32) []float32 { return o.lr.Score(v) }

func TestSuggest(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 9)
	ctx := context.Background()
	for _, scan := range []int{0, 100_000} {
		s, err := feedback.NewSession(p.store, p.ns, p.bucket, feedback.WithScanThreshold(scan))
		require.NoError(t, err)

		before, err := s.Suggest(ctx, 5) // before any mark: fitted on the bucket
		require.NoError(t, err)
		assert.Len(t, before, 5)

		play(t, s, 2, 20)
		seen := map[string]bool{}
		for _, r := range s.Rounds() {
			for _, id := range r.IDs {
				seen[id] = true
			}
		}
		for _, id := range p.bucket.Positives {
			seen[id.ID] = true
		}
		sug, err := s.Suggest(ctx, 10)
		require.NoError(t, err)
		require.Len(t, sug, 10)
		for i, r := range sug {
			assert.False(t, seen[r.ID], "suggestion %q was seen", r.ID)
			if i > 0 {
				assert.LessOrEqual(t, math.Abs(float64(sug[i-1].Score)), math.Abs(float64(r.Score)), "most uncertain first")
			}
		}
		assert.Len(t, s.Rounds(), 2, "suggestions are not a round")
		again, err := s.Suggest(ctx, 10)
		require.NoError(t, err)
		assert.Equal(t, ids(sug), ids(again), "nothing changed, same suggestions")

		// Marked suggestions train the reranker and leave the pool.
		require.NoError(t, s.Mark(ctx, sug[0].ID, relevant(sug[0].ID)))
		res, err := s.Results(ctx, 50)
		require.NoError(t, err)
		assert.NotContains(t, ids(res), sug[0].ID)
		assert.Contains(t, s.Marks(), feedback.Mark{ID: sug[0].ID, Relevant: relevant(sug[0].ID)})
	}
}

func TestFilterAndBucketNegatives(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 11)
	b := p.bucket
	b.Negatives = []search.Example{search.ByID("decoy-0000"), search.ByID("decoy-0001")}
	s, err := feedback.NewSession(p.store, p.ns, b, feedback.WithFilter(index.Ne("kind", "other")), feedback.WithScanThreshold(0))
	require.NoError(t, err)
	play(t, s, 3, 20)
	for _, r := range s.Rounds() {
		for _, id := range r.IDs {
			assert.False(t, strings.HasPrefix(id, "other-"), "filtered out")
			assert.NotContains(t, []string{"decoy-0000", "decoy-0001"}, id, "bucket negatives are never results")
		}
	}
	// A bucket example marked by the user: the mark overrides its role.
	require.NoError(t, s.Mark(context.Background(), "decoy-0000", true))
	_, err = s.Results(context.Background(), 5)
	require.NoError(t, err)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 12)
	s, err := feedback.NewSession(p.store, p.ns, p.bucket)
	require.NoError(t, err)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 3 {
		wg.Go(func() {
			for range 3 {
				res, err := s.Results(ctx, 10)
				if err != nil {
					errs <- err
					return
				}
				for _, r := range res {
					if err := s.Mark(ctx, r.ID, relevant(r.ID)); err != nil {
						errs <- err
						return
					}
				}
				if _, err := s.Suggest(ctx, 3); err != nil {
					errs <- err
				}
				_ = s.Rounds()
				if err := s.Save(&bytes.Buffer{}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	shown := map[string]bool{}
	for _, r := range s.Rounds() {
		for _, id := range r.IDs {
			assert.False(t, shown[id], "%q shown twice", id)
			shown[id] = true
		}
	}
	assert.Len(t, s.Rounds(), 9)
}

func TestStrategyText(t *testing.T) {
	t.Parallel()
	for _, st := range []feedback.Strategy{feedback.Similarity, feedback.Classifier, feedback.Blend} {
		b, err := st.MarshalText()
		require.NoError(t, err)
		var back feedback.Strategy
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, st, back)
	}
	_, err := feedback.Strategy(7).MarshalText()
	assert.Error(t, err)
	assert.Equal(t, "Strategy(7)", feedback.Strategy(7).String())
	var s feedback.Strategy
	assert.Error(t, s.UnmarshalText([]byte("nope")))
	assert.True(t, errors.Is(feedback.ErrUnknownID, index.ErrNotFound))
}

// The session takes the store's metric by default: on a DotProduct store
// with a long vector, an assumed Cosine ranked near 0.939, big 0.354, where
// the store itself ranks big 5.0, near 0.85.
func TestDefaultMetricIsTheStores(t *testing.T) {
	t.Parallel()
	store, err := memory.New(memory.WithMetric(index.DotProduct))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	require.NoError(t, store.Upsert(t.Context(), "pool", []index.Record{
		{ID: "near", Vector: []float32{0.85, 0.311, 0}},
		{ID: "big", Vector: []float32{5, 13.21, 0}},
	}))
	s, err := feedback.NewSession(store, "pool", search.Bucket{
		Positives: []search.Example{search.ByVector([]float32{1, 0, 0})},
		Negatives: []search.Example{search.ByVector([]float32{0, 0, 1})},
	}, feedback.WithAggregation(search.Max), feedback.WithScanThreshold(0))
	require.NoError(t, err)
	res, err := s.Results(t.Context(), 2)
	require.NoError(t, err)
	require.Len(t, res, 2)
	assert.Equal(t, "big", res[0].ID)
	assert.InDelta(t, 5.0, res[0].Score, 1e-4)
	assert.InDelta(t, 0.85, res[1].Score, 1e-4)

	// A store that does not report its metric keeps Cosine unless told.
	s, err = feedback.NewSession(bareStore{store}, "pool", search.Bucket{
		Positives: []search.Example{search.ByVector([]float32{1, 0, 0})},
	}, feedback.WithMetric(index.DotProduct))
	require.NoError(t, err)
	res, err = s.Results(t.Context(), 2)
	require.NoError(t, err)
	assert.Equal(t, "big", res[0].ID)
}

// bareStore hides every method of a store but those of index.VectorStore.
type bareStore struct{ index.VectorStore }

// Bad arguments are errors wrapping index.ErrInvalidArgument, never panics.
func TestBadArguments(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 1)
	s, err := feedback.NewSession(p.store, p.ns, p.bucket)
	require.NoError(t, err)
	var saved strings.Builder
	require.NoError(t, s.Save(&saved))
	var nilCtx context.Context
	vecs := [][]float32{{1, 0}}
	for _, tc := range []struct {
		name string
		call func() error
		text string
	}{
		{"NewSession nil store", func() error { _, err := feedback.NewSession(nil, p.ns, p.bucket); return err }, "feedback: NewSession: nil store"},
		{"Resume nil context", func() error {
			_, err := feedback.Resume(nilCtx, strings.NewReader(saved.String()), p.store)
			return err
		}, "feedback: Resume: nil context"},
		{"Resume nil reader", func() error { _, err := feedback.Resume(t.Context(), nil, p.store); return err }, "feedback: Resume: nil reader"},
		{"Resume nil store", func() error {
			_, err := feedback.Resume(t.Context(), strings.NewReader(saved.String()), nil)
			return err
		}, "feedback: Resume: nil store"},
		{"Results nil context", func() error { _, err := s.Results(nilCtx, 5); return err }, "feedback: Results: nil context"},
		{"Results k 0", func() error { _, err := s.Results(t.Context(), 0); return err }, "feedback: Results: k 0 out of range"},
		{"Suggest nil context", func() error { _, err := s.Suggest(nilCtx, 5); return err }, "feedback: Suggest: nil context"},
		{"Mark nil context", func() error { return s.Mark(nilCtx, "rel-0000", true) }, "feedback: Mark: nil context"},
		{"MarkAll nil context", func() error { return s.MarkAll(nilCtx, feedback.Mark{ID: "rel-0000"}) }, "feedback: MarkAll: nil context"},
		{"Mark bad id", func() error { return s.Mark(t.Context(), "", true) }, `feedback: mark 0 (id ""): invalid id`},
		{"Logistic.Fit nil context", func() error { return (&feedback.Logistic{}).Fit(nilCtx, vecs, vecs) }, "feedback: Logistic.Fit: nil context"},
		{"Rocchio.Fit nil context", func() error { return (&feedback.Rocchio{}).Fit(nilCtx, vecs, vecs) }, "feedback: Rocchio.Fit: nil context"},
		{"Hybrid.Fit nil context", func() error { return (&feedback.Hybrid{}).Fit(nilCtx, vecs, vecs) }, "feedback: Hybrid.Fit: nil context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tc.call() })
			assert.ErrorIs(t, err, index.ErrInvalidArgument)
			assert.ErrorContains(t, err, tc.text)
		})
	}
}
