package index_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

// UpsertAll goes through index.UpsertPreparer when a store has it, with the
// same results as through Upsert.
func TestUpsertAllPrepared(t *testing.T) {
	t.Parallel()
	t.Run("writes everything once, preparing each batch once", func(t *testing.T) {
		t.Parallel()
		s := &preparingStore{fakeStore: newFakeStore()}
		recs := makeRecords(1000)
		got, err := index.UpsertAll(t.Context(), s, "ns", index.Records(recs), index.WithBatchSize(64), index.WithConcurrency(4))
		require.NoError(t, err)
		assert.Equal(t, 1000, got)
		assert.Equal(t, int64(16), s.prepared.Load())
		assertAllStored(t, s.fakeStore, recs)
	})
	t.Run("a bad record fails its batch, named in the stream", func(t *testing.T) {
		t.Parallel()
		s := &preparingStore{fakeStore: newFakeStore()}
		recs := makeRecords(400)
		recs[237].Metadata = index.Metadata{"$bad": 1}
		_, err := index.UpsertAll(t.Context(), s, "ns", index.Records(recs), index.WithBatchSize(100), index.WithConcurrency(1))
		require.ErrorIs(t, err, index.ErrInvalidMetadata)
		var ie *index.ItemError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, 237, ie.Index)
		assert.Equal(t, "r00237", ie.ID)
		_, stored, _, _ := s.snapshot()
		assert.NotContains(t, stored, "r00237", "nothing of the bad batch is written")
	})
	t.Run("a send error is rebased and retried", func(t *testing.T) {
		t.Parallel()
		s := &preparingStore{fakeStore: newFakeStore()}
		failed := map[string]bool{}
		s.hook = func(_ context.Context, _ int, recs []index.Record) (bool, error) {
			if recs[0].ID == "r00032" && !failed[recs[0].ID] {
				failed[recs[0].ID] = true
				return true, errTransient // written, but the acknowledgement was lost
			}
			for i, r := range recs {
				if r.ID == "r00077" {
					return false, fmt.Errorf("backend: %w", &index.ItemError{Index: i, ID: r.ID, Err: index.ErrInvalidVector})
				}
			}
			return false, nil
		}
		n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(makeRecords(100)), index.WithBatchSize(16),
			index.WithConcurrency(1), fastRetry)
		var ie *index.ItemError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, 77, ie.Index)
		assert.Equal(t, 64, n, "four batches before the bad one, one of them after a retry")
		assert.LessOrEqual(t, s.prepared.Load(), int64(7), "7 batches in all: the retried one was prepared once")
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		s := &preparingStore{fakeStore: newFakeStore()}
		ctx, cancel := context.WithCancel(t.Context())
		s.hook = func(_ context.Context, call int, _ []index.Record) (bool, error) {
			if call == 3 {
				cancel()
			}
			return false, nil
		}
		_, err := index.UpsertAll(ctx, s, "ns", index.Records(makeRecords(1000)), index.WithBatchSize(10), index.WithConcurrency(2))
		assert.ErrorIs(t, err, context.Canceled)
	})
}
