package feedback_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

// reorderedStore returns a new store holding recs inserted in the given
// order, one record per Upsert, so that its scan order follows it.
func reorderedStore(t *testing.T, recs []index.Record) *memory.Store {
	t.Helper()
	store, err := memory.New(memory.WithMetric(index.Cosine))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	for _, r := range recs {
		require.NoError(t, store.Upsert(context.Background(), "pool", []index.Record{r}))
	}
	return store
}

// roundIDs plays rounds of k results on s, marked by the planted truth,
// and returns each round's IDs and strategy.
func roundIDs(t *testing.T, s *feedback.Session, rounds, k int) []string {
	t.Helper()
	play(t, s, rounds, k)
	var out []string
	for _, r := range s.Rounds() {
		out = append(out, fmt.Sprintf("%v %v", r.Strategy, r.IDs))
	}
	return out
}

// TestRoundsIgnoreStoreOrder: two stores holding the same records
// inserted in opposite orders (so their scans yield them in opposite
// orders) give identical rounds for the same bucket and marks, whether the
// rounds scan the pool or query the store, and a session saved on one and
// resumed on the other continues exactly as an uninterrupted one.
func TestRoundsIgnoreStoreOrder(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 21)
	fwd := reorderedStore(t, p.recs)
	rev := reorderedStore(t, reversed(p.recs))
	ctx := context.Background()
	for _, scan := range []int{0, feedback.DefaultScanThreshold} {
		t.Run(fmt.Sprintf("scan threshold %d", scan), func(t *testing.T) {
			opts := []feedback.Option{feedback.WithScanThreshold(scan), feedback.WithBackground(60)}
			a, err := feedback.NewSession(fwd, "pool", p.bucket, opts...)
			require.NoError(t, err)
			b, err := feedback.NewSession(rev, "pool", p.bucket, opts...)
			require.NoError(t, err)
			want := roundIDs(t, a, 5, 15)
			assert.Equal(t, want, roundIDs(t, b, 5, 15))

			// Save after 2 rounds on the forward store, resume on the
			// reversed one: the same 5 rounds.
			c, err := feedback.NewSession(fwd, "pool", p.bucket, opts...)
			require.NoError(t, err)
			play(t, c, 2, 15)
			var buf bytes.Buffer
			require.NoError(t, c.Save(&buf))
			r, err := feedback.Resume(ctx, &buf, rev, opts...)
			require.NoError(t, err)
			assert.Equal(t, want, roundIDs(t, r, 3, 15))
		})
	}
}

// A sample drawn once with SampleBackground and given to sessions with
// WithBackgroundSample gives the rounds a session drawing its own gives.
func TestSharedBackgroundSample(t *testing.T) {
	t.Parallel()
	p := plantedPool(t, index.Cosine, 22)
	s := reorderedStore(t, p.recs)
	ctx := context.Background()
	opts := []feedback.Option{feedback.WithScanThreshold(0), feedback.WithBackground(60)}
	own, err := feedback.NewSession(s, "pool", p.bucket, opts...)
	require.NoError(t, err)
	want := roundIDs(t, own, 4, 15)

	ids, err := feedback.SampleBackground(ctx, reorderedStore(t, reversed(p.recs)), "pool", index.Filter{}, 60)
	require.NoError(t, err)
	require.Len(t, ids, 60)
	assert.True(t, slices.IsSorted(ids))
	shared, err := feedback.NewSession(s, "pool", p.bucket, append(opts, feedback.WithBackgroundSample(ids))...)
	require.NoError(t, err)
	assert.Equal(t, want, roundIDs(t, shared, 4, 15))

	_, err = feedback.SampleBackground(ctx, s, "pool", index.Filter{}, feedback.MaxBackground+1)
	assert.ErrorIs(t, err, feedback.ErrInvalidOption)
	_, err = feedback.NewSession(s, "pool", p.bucket, feedback.WithBackgroundSample(make([]string, feedback.MaxBackground+1)))
	assert.ErrorIs(t, err, feedback.ErrInvalidOption)
}

func reversed(recs []index.Record) []index.Record {
	out := slices.Clone(recs)
	slices.Reverse(out)
	return out
}
