package pinecone_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/pinecone"
	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/index"
)

// recorder keeps the requests the fake saw.
type recorder struct {
	mu    sync.Mutex
	calls []pineconetest.Call
}

func (r *recorder) observe(c pineconetest.Call) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

func (r *recorder) of(method string) []pineconetest.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pineconetest.Call
	for _, c := range r.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func recs(n, dim int, md func(i int) index.Metadata) []index.Record {
	out := make([]index.Record, n)
	for i := range out {
		v := make([]float32, dim)
		v[i%dim] = 1
		v[(i+1)%dim] = float32(i%7) + 0.5
		var m index.Metadata
		if md != nil {
			m = md(i)
		}
		out[i] = index.Record{ID: fmt.Sprintf("r%05d", i), Vector: v, Metadata: m}
	}
	return out
}

func TestLimitsSplit(t *testing.T) {
	clearEnv(t)
	srv := newFake(t)
	rec := &recorder{}
	srv.SetObserver(rec.observe)
	const dim = 8

	tests := []struct {
		name      string
		n         int
		md        func(i int) index.Metadata
		minCalls  int
		maxPerReq int
	}{
		{"2500 vectors split by count", 2500, nil, 3, pinecone.MaxUpsertVectors},
		// 30 KB of metadata each: 2 MB holds about 68, so 200 need >= 3 requests.
		{"200 vectors of 30 KB split by bytes", 200, func(i int) index.Metadata { return index.Metadata{"blob": strings.Repeat("x", 30<<10)} }, 3, 70},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, name := openStore(t, srv, dim, index.Cosine)
			before := len(rec.of("Upsert"))
			want := recs(tc.n, dim, tc.md)
			require.NoError(t, s.Upsert(t.Context(), "ns", want))
			calls := rec.of("Upsert")[before:]
			assert.GreaterOrEqual(t, len(calls), tc.minCalls)
			total := 0
			for _, c := range calls {
				assert.LessOrEqual(t, len(c.IDs), tc.maxPerReq)
				total += len(c.IDs)
			}
			assert.Equal(t, tc.n, total, "every record sent exactly once")
			got, err := srv.Contents(t.Context(), name, "ns")
			require.NoError(t, err)
			assert.Len(t, got, tc.n)

			// Fetch and Delete go in chunks of 1000 IDs.
			ids := make([]string, len(want))
			for i, r := range want {
				ids[i] = r.ID
			}
			fb := len(rec.of("Fetch"))
			fetched, err := s.Fetch(t.Context(), "ns", ids)
			require.NoError(t, err)
			assert.Len(t, fetched, tc.n)
			for _, c := range rec.of("Fetch")[fb:] {
				assert.LessOrEqual(t, len(c.IDs), pinecone.MaxIDsPerRequest)
			}
			require.NoError(t, s.Delete(t.Context(), "ns", ids))
			for _, c := range rec.of("Delete") {
				assert.LessOrEqual(t, len(c.IDs), pinecone.MaxIDsPerRequest)
			}
			got, err = srv.Contents(t.Context(), name, "ns")
			require.NoError(t, err)
			assert.Empty(t, got)
		})
	}
}

func TestLimitsRejectNamingItem(t *testing.T) {
	clearEnv(t)
	srv := newFake(t)
	rec := &recorder{}
	srv.SetObserver(rec.observe)
	const dim = 8
	s, name := openStore(t, srv, dim, index.Cosine)

	big := recs(5, dim, nil)
	tests := []struct {
		name     string
		bad      index.Record
		sentinel error
		contains string
	}{
		{"metadata over 40 KB", index.Record{ID: "too-much-md", Vector: big[0].Vector, Metadata: index.Metadata{"a": strings.Repeat("y", 20<<10), "b": strings.Repeat("\x01", 4<<10)}}, index.ErrInvalidMetadata, "40960"},
		{"integer beyond 2^53", index.Record{ID: "huge-int", Vector: big[0].Vector, Metadata: index.Metadata{"n": int64(1)<<53 + 1}}, index.ErrInvalidMetadata, `"n"`},
		{"cosine zero vector", index.Record{ID: "zero", Vector: make([]float32, dim)}, index.ErrInvalidVector, "zero"},
		{"wrong dimension", index.Record{ID: "short", Vector: []float32{1}}, index.ErrDimension, "want 8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rec.of("Upsert"))
			batch := append(recs(3, dim, nil), tc.bad)
			err := s.Upsert(t.Context(), "rej", batch)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.sentinel)
			var ie *index.ItemError
			require.True(t, errors.As(err, &ie), "error %v names the item", err)
			assert.Equal(t, 3, ie.Index)
			assert.Equal(t, tc.bad.ID, ie.ID)
			assert.Contains(t, err.Error(), tc.contains)
			assert.Len(t, rec.of("Upsert"), before, "nothing sent")
			got, err := srv.Contents(t.Context(), name, "rej")
			require.NoError(t, err)
			assert.Empty(t, got, "nothing written")
		})
	}

	t.Run("top_k over 10000", func(t *testing.T) {
		_, err := s.Query(t.Context(), index.Query{Vector: big[0].Vector, TopK: pinecone.MaxTopK + 1})
		assert.ErrorIs(t, err, index.ErrInvalidArgument)
		assert.Contains(t, err.Error(), "10001")
	})
}

// The fake itself enforces Pinecone's limits, so a client that ignored them
// would fail: checked here by sending over-limit requests past the Store.
func TestFakeEnforcesLimits(t *testing.T) {
	clearEnv(t)
	srv := newFake(t)
	_, name := openStore(t, srv, 4, index.DotProduct)
	conn := rawConn(t, srv, name)
	over := make([]string, pineconetest.MaxIDsPerRequest+1)
	for i := range over {
		over[i] = fmt.Sprint(i)
	}
	_, err := conn.FetchVectors(t.Context(), over)
	assert.ErrorContains(t, err, "limit of 1000")
	err = conn.DeleteVectorsById(t.Context(), over)
	assert.ErrorContains(t, err, "limit of 1000")
	vs := rawVectors(pineconetest.MaxUpsertVectors+1, 4, nil)
	_, err = conn.UpsertVectors(t.Context(), vs)
	assert.ErrorContains(t, err, "limit of 1000")
	vs = rawVectors(1, 4, map[string]any{"blob": strings.Repeat("z", 41<<10)})
	_, err = conn.UpsertVectors(t.Context(), vs)
	assert.ErrorContains(t, err, "exceeds the limit of 40960 bytes per vector (id v0)")
	vs = rawVectors(80, 4, map[string]any{"blob": strings.Repeat("z", 30<<10)})
	_, err = conn.UpsertVectors(t.Context(), vs)
	assert.ErrorContains(t, err, "exceeds the limit of 2097152 bytes")
}

// Issue 20, point 5: requests are sized from their exact wire bytes. Lists
// of short strings take about 25 % more room as a protobuf Struct than as
// JSON, so 60 records each holding 10,000 one-letter strings (40 KB of
// JSON, 50 KB on the wire) made a 2.6 MB request when sized from JSON.
func TestUpsertSizedFromWireBytes(t *testing.T) {
	clearEnv(t)
	srv := newFake(t)
	rec := &recorder{}
	srv.SetObserver(rec.observe)
	s, name := openStore(t, srv, 8, index.Cosine)
	list := make([]string, 10_000)
	for i := range list {
		list[i] = string(rune('a' + i%26))
	}
	want := recs(60, 8, func(int) index.Metadata { return index.Metadata{"tags": list} })
	require.NoError(t, s.Upsert(t.Context(), "big", want))
	calls := rec.of("Upsert")
	require.Greater(t, len(calls), 1, "split")
	for _, c := range calls {
		assert.LessOrEqual(t, len(c.Request), pinecone.MaxUpsertBytes)
		t.Logf("upsert of %d vectors: %d bytes on the wire (limit %d)", len(c.IDs), len(c.Request), pinecone.MaxUpsertBytes)
	}
	got, err := srv.Contents(t.Context(), name, "big")
	require.NoError(t, err)
	require.Len(t, got, 60)
	assert.Equal(t, list, got[59].Metadata["tags"])
}
