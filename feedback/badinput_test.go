package feedback_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/search"
)

// TestBucketOfOneDuplicatedItem: a bucket that names one item five times,
// in a pool holding 30 exact copies of it. The copies come first, in ID
// order (ties by ID); the bucket's item is never shown; marking the copies
// relevant trains a reranker on identical vectors without error, and later
// rounds keep returning fresh items.
func TestBucketOfOneDuplicatedItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := plantedPool(t, index.Cosine, 31)
	var orig []float32
	for _, r := range p.recs {
		if r.ID == "rel-0000" {
			orig = r.Vector
		}
	}
	var dups []index.Record
	for i := range 30 {
		dups = append(dups, index.Record{ID: fmt.Sprintf("dup-%02d", i), Vector: slices.Clone(orig)})
	}
	require.NoError(t, p.store.Upsert(ctx, p.ns, dups))
	bucket := search.Bucket{Positives: slices.Repeat([]search.Example{search.ByID("rel-0000")}, 5)}
	s, err := feedback.NewSession(p.store, p.ns, bucket)
	require.NoError(t, err)

	res, err := s.Results(ctx, 10)
	require.NoError(t, err)
	var ids []string
	for _, r := range res {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{"dup-00", "dup-01", "dup-02", "dup-03", "dup-04", "dup-05", "dup-06", "dup-07", "dup-08", "dup-09"}, ids)
	for _, id := range ids {
		require.NoError(t, s.Mark(ctx, id, true))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	for range 3 {
		res, err := s.Results(ctx, 10)
		require.NoError(t, err)
		require.Len(t, res, 10)
		for _, r := range res {
			assert.NotEqual(t, "rel-0000", r.ID, "the bucket's item is never shown")
			assert.False(t, seen[r.ID], "%s shown twice", r.ID)
			seen[r.ID] = true
		}
		markAll(t, s, res)
	}
	sug, err := s.Suggest(ctx, 5)
	require.NoError(t, err)
	assert.Len(t, sug, 5)
}

// TestOneClassUsers: a user who marks everything relevant, or everything
// not relevant, round after round. No error; each round shows fresh items;
// the strategy is documented: only relevant marks blend the reranker with
// the similarity (nothing to correct), only not-relevant marks rank by the
// reranker (the similarity is failing); the guard never checks.
func TestOneClassUsers(t *testing.T) {
	t.Parallel()
	for _, rel := range []bool{true, false} {
		t.Run(fmt.Sprintf("relevant=%v", rel), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p := plantedPool(t, index.Cosine, 32)
			s, err := feedback.NewSession(p.store, p.ns, p.bucket, feedback.WithScanThreshold(0))
			require.NoError(t, err)
			seen := map[string]bool{}
			for range 4 {
				res, err := s.Results(ctx, 15)
				require.NoError(t, err)
				require.Len(t, res, 15)
				for _, r := range res {
					assert.False(t, seen[r.ID], "%s shown twice", r.ID)
					seen[r.ID] = true
					require.NoError(t, s.Mark(ctx, r.ID, rel))
				}
			}
			want := map[bool]feedback.Strategy{true: feedback.Blend, false: feedback.Classifier}[rel]
			for _, r := range s.Rounds()[1:] {
				assert.Equal(t, want, r.Strategy, r.Reason)
				assert.False(t, r.Checked)
				assert.InDelta(t, map[bool]float64{true: 1, false: 0}[rel], r.Precision(), 1e-12)
			}
		})
	}
}
