package milvus_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/milvus"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

// TestUpsertRefusesUnaddressableKeys: a metadata key that Milvus cannot
// address in a filter (control or invisible characters, a literal \uXXXX,
// "][") fails Upsert with an *index.ItemError naming the record and the key,
// before anything is written; a filter on it fails with
// index.ErrInvalidFilter.
func TestUpsertRefusesUnaddressableKeys(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	s, name := openStore(t, srv, 4, index.DotProduct)
	for _, k := range []string{"ctl\x01", "del\x7f", "soft\u00adhyphen", "zero\u200bwidth", "line\u2028sep", "bom\ufeff", `lit\u0041`, "a][b"} {
		recs := indextest.RandomRecords(1, 3, 4)
		recs[2].Metadata = index.Metadata{"ok": "x", k: "v"}
		err := s.Upsert(t.Context(), "ns", recs)
		require.ErrorIs(t, err, index.ErrInvalidMetadata, "%q", k)
		var ie *index.ItemError
		require.True(t, errors.As(err, &ie), "%v", err)
		assert.Equal(t, 2, ie.Index)
		assert.Equal(t, recs[2].ID, ie.ID)
		assert.ErrorContains(t, err, strconv.Quote(k))

		_, err = s.Query(t.Context(), index.Query{Namespace: "ns", Vector: recs[0].Vector, TopK: 1, Filter: index.Eq(k, "v")})
		assert.ErrorIs(t, err, index.ErrInvalidFilter, "%q", k)
		assert.ErrorContains(t, err, strconv.Quote(k))
	}
	rows, err := srv.Rows(t.Context(), name)
	require.NoError(t, err)
	assert.Empty(t, rows, "nothing is written")
}

// TestWithIndexHNSWRanges: WithIndex accepts exactly the HNSW parameters
// the SDK's entity.NewIndexHNSW and NewIndexHNSWSearchParam accept (M 4..64,
// efConstruction 8..512, ef 1..32768): the edges open a collection, one past
// them is an option error before any connection is made.
func TestWithIndexHNSWRanges(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	for _, spec := range []milvus.IndexSpec{
		{Type: milvus.HNSW, M: 4, EfConstruction: 8, Ef: 1},
		{Type: milvus.HNSW, M: 64, EfConstruction: 512, Ef: 32768},
	} {
		s, _ := openStore(t, srv, 4, index.Cosine, milvus.WithIndex(spec))
		recs := indextest.RandomRecords(2, 5, 4)
		require.NoError(t, s.Upsert(t.Context(), "", recs))
		_, err := s.Query(t.Context(), index.Query{Vector: recs[0].Vector, TopK: 3})
		require.NoError(t, err, "%+v", spec)
	}
	for _, spec := range []milvus.IndexSpec{
		{Type: milvus.HNSW, M: 3}, {Type: milvus.HNSW, M: 65}, {Type: milvus.HNSW, M: 2048},
		{Type: milvus.HNSW, EfConstruction: 7}, {Type: milvus.HNSW, EfConstruction: 513},
		{Type: milvus.HNSW, Ef: 32769},
	} {
		// No server listens on port 1: only an option error returns at once.
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		_, err := milvus.Open(ctx, "127.0.0.1:1", "x", milvus.WithDimension(4), milvus.WithIndex(spec))
		cancel()
		assert.ErrorIs(t, err, index.ErrInvalidArgument, "%+v", spec)
		assert.ErrorContains(t, err, "WithIndex: HNSW", "%+v", spec)
	}
}

// TestUpsertIsPlain: the Store has one plain Upsert, no prepare-then-send
// step (index.UpsertPreparer is gone).
func TestUpsertIsPlain(t *testing.T) {
	t.Parallel()
	_, ok := reflect.TypeFor[*milvus.Store]().MethodByName("PrepareUpsert")
	assert.False(t, ok)
}
