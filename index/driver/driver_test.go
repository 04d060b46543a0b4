package driver

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

func TestValidateID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"a", "ñandú/🐟 #1", strings.Repeat("x", index.MaxIDLength)} {
		assert.NoError(t, ValidateID(id), "%q", id)
	}
	for _, c := range []struct{ id, mention string }{
		{"", "empty"},
		{strings.Repeat("x", index.MaxIDLength+1), "513 bytes"},
		{"a\xff", "UTF-8"},
		{"a\x00b", "NUL"},
	} {
		err := ValidateID(c.id)
		if assert.ErrorIs(t, err, index.ErrInvalidID, "%q", c.id) {
			assert.ErrorIs(t, err, index.ErrInvalidArgument)
			assert.Contains(t, err.Error(), c.mention)
		}
	}
}

func TestValidateVector(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		v    []float32
		dim  int
		want error
	}{
		{"ok, any dim", []float32{1, 2}, 0, nil},
		{"ok, dim", []float32{1, 2}, 2, nil},
		{"zero vector is finite", []float32{0, 0}, 2, nil},
		{"nil", nil, 0, index.ErrInvalidVector},
		{"empty", []float32{}, 3, index.ErrInvalidVector},
		{"short", []float32{1}, 2, index.ErrDimension},
		{"long", []float32{1, 2, 3}, 2, index.ErrDimension},
		{"NaN", []float32{1, float32(math.NaN())}, 2, index.ErrInvalidVector},
		{"+Inf", []float32{float32(math.Inf(1))}, 0, index.ErrInvalidVector},
		{"-Inf", []float32{1, 2, float32(math.Inf(-1))}, 0, index.ErrInvalidVector},
	} {
		err := ValidateVector(c.v, c.dim)
		if c.want == nil {
			assert.NoError(t, err, c.name)
			continue
		}
		assert.ErrorIs(t, err, c.want, c.name)
		assert.ErrorIs(t, err, index.ErrInvalidArgument, c.name)
	}
	assert.ErrorContains(t, ValidateVector([]float32{1, 2, float32(math.NaN())}, 0), "element 2")
	assert.ErrorContains(t, ValidateVector([]float32{1}, 2), "got 1, want 2")
}

func TestValidateRecords(t *testing.T) {
	t.Parallel()
	good := func(id string, n int) index.Record {
		v := make([]float32, n)
		v[0] = 1
		return index.Record{ID: id, Vector: v}
	}
	t.Run("valid", func(t *testing.T) {
		t.Parallel()
		in := []index.Record{
			{ID: "a", Vector: []float32{1, 2}, Metadata: index.Metadata{"n": 3, "l": []string{"x"}}},
			{ID: "b", Vector: []float32{3, 4}},
		}
		out, err := ValidateRecords(in, 2)
		require.NoError(t, err)
		require.Len(t, out, 2)
		assert.Equal(t, index.Metadata{"n": int64(3), "l": []string{"x"}}, out[0].Metadata, "metadata normalised")
		assert.Nil(t, out[1].Metadata)
		in[0].Vector[0] = 99
		in[0].Metadata["l"].([]string)[0] = "changed"
		assert.Equal(t, []float32{1, 2}, out[0].Vector, "vectors are copied")
		assert.Equal(t, []string{"x"}, out[0].Metadata["l"], "metadata is copied")
		out, err = ValidateRecords(nil, 0)
		assert.NoError(t, err)
		assert.Empty(t, out)
		mds, err := CheckUpsert(context.Background(), "", in, 2)
		assert.NoError(t, err)
		assert.Equal(t, []index.Metadata{{"n": int64(3), "l": []string{"changed"}}, nil}, mds, "metadata in canonical form (int became int64)")
		_, err = CheckUpsert(context.Background(), "", nil, 0)
		assert.NoError(t, err)
	})
	for _, c := range []struct {
		name string
		recs []index.Record
		dim  int
		idx  int
		id   string
		want error
	}{
		{"empty ID", []index.Record{good("a", 2), good("", 2)}, 0, 1, "", index.ErrInvalidID},
		{"long ID", []index.Record{good(strings.Repeat("x", 600), 2)}, 0, 0, strings.Repeat("x", 600), index.ErrInvalidID},
		{"duplicate", []index.Record{good("a", 2), good("b", 2), good("a", 2)}, 0, 2, "a", index.ErrInvalidID},
		{"dimension against dim", []index.Record{good("a", 2), good("b", 3)}, 2, 1, "b", index.ErrDimension},
		{"dimension against first", []index.Record{good("a", 2), good("b", 2), good("c", 3)}, 0, 2, "c", index.ErrDimension},
		{"first against dim", []index.Record{good("a", 3)}, 2, 0, "a", index.ErrDimension},
		{"empty vector", []index.Record{good("a", 2), {ID: "b"}}, 0, 1, "b", index.ErrInvalidVector},
		{"NaN", []index.Record{{ID: "a", Vector: []float32{float32(math.NaN())}}}, 0, 0, "a", index.ErrInvalidVector},
		{"metadata", []index.Record{good("a", 2), {ID: "b", Vector: []float32{1, 1}, Metadata: index.Metadata{"$x": 1}}}, 0, 1, "b", index.ErrInvalidMetadata},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, err := ValidateRecords(c.recs, c.dim)
			assert.Nil(t, out)
			require.ErrorIs(t, err, c.want)
			var ie *index.ItemError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, c.idx, ie.Index)
			assert.Equal(t, c.id, ie.ID)
			_, cerr := CheckUpsert(context.Background(), "", c.recs, c.dim)
			assert.EqualError(t, cerr, err.Error(), "CheckRecords reports the same")
		})
	}
}

func TestValidateQuery(t *testing.T) {
	t.Parallel()
	q := index.Query{Vector: []float32{1, 2}, TopK: 1}
	require.NoError(t, ValidateQuery(q, 2))
	for _, c := range []struct {
		name   string
		modify func(*index.Query)
		dim    int
		want   error
	}{
		{"TopK 0", func(q *index.Query) { q.TopK = 0 }, 2, index.ErrInvalidArgument},
		{"TopK -1", func(q *index.Query) { q.TopK = -1 }, 2, index.ErrInvalidArgument},
		{"TopK max", func(q *index.Query) { q.TopK = index.MaxTopK }, 2, nil},
		{"TopK over max", func(q *index.Query) { q.TopK = index.MaxTopK + 1 }, 2, index.ErrInvalidArgument},
		{"dimension", func(q *index.Query) {}, 3, index.ErrDimension},
		{"any dimension", func(q *index.Query) {}, 0, nil},
		{"no vector", func(q *index.Query) { q.Vector = nil }, 0, index.ErrInvalidVector},
		{"NaN", func(q *index.Query) { q.Vector = []float32{float32(math.NaN()), 1} }, 2, index.ErrInvalidVector},
		{"filter", func(q *index.Query) { q.Filter = index.In("a") }, 2, index.ErrInvalidFilter},
		{"good filter", func(q *index.Query) { q.Filter = index.In("a", 1) }, 2, nil},
	} {
		qq := q
		c.modify(&qq)
		err := ValidateQuery(qq, c.dim)
		if c.want == nil {
			assert.NoError(t, err, c.name)
		} else {
			assert.ErrorIs(t, err, c.want, c.name)
		}
	}
}

func TestValidateNamespace(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "ns", "shoal-local-image/v1 side=28 gray dim=784", "名前"} {
		assert.NoError(t, ValidateNamespace(ok), ok)
	}
	for ns, reason := range map[string]string{
		strings.Repeat("n", index.MaxIDLength+1): "more than",
		"bad\xff":                                "not valid UTF-8",
		"nul\x00":                                "NUL",
	} {
		err := ValidateNamespace(ns)
		assert.ErrorIs(t, err, index.ErrInvalidArgument)
		assert.ErrorContains(t, err, reason)
	}
}

func TestMetadataCanonicalDoesNotAllocate(t *testing.T) {
	md := index.Metadata{"s": "x", "b": true, "i": int64(3), "f": 2.5, "l": []string{"a", "b"}}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Canonical(md); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	got, err := Canonical(nil)
	assert.NoError(t, err)
	assert.Nil(t, got)
}

func TestContextError(t *testing.T) {
	t.Parallel()
	assert.NoError(t, ContextError(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, ContextError(ctx), context.Canceled)
	cause := errors.New("shutting down")
	ctx, cancelCause := context.WithCancelCause(context.Background())
	cancelCause(cause)
	assert.ErrorIs(t, ContextError(ctx), cause)
	// A deadline in the past counts even before the context's timer fires.
	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	assert.ErrorIs(t, ContextError(ctx), context.DeadlineExceeded)
	ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	assert.NoError(t, ContextError(ctx))
}
