package pinecone_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	pc "github.com/pinecone-io/go-pinecone/v5/pinecone"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/structpb"

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

func (r *recorder) all() []pineconetest.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]pineconetest.Call(nil), r.calls...)
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

	// Identifiers, metadata keys and values, filters, top_k.
	for _, tc := range []struct {
		name string
		id   string
		md   map[string]any
		want string
	}{
		{"ID over 512 characters", strings.Repeat("ü", 513), nil, "513 characters exceeds the limit of 512"},
		{"key starting with $", "v", map[string]any{"$k": "x"}, `Metadata key "$k" must not start with '$'`},
		{"null value", "v", map[string]any{"k": nil}, `metadata "k": null is not allowed`},
		{"nested object", "v", map[string]any{"k": map[string]any{"a": "b"}}, `metadata "k": unsupported value`},
		{"list of numbers", "v", map[string]any{"k": []any{1.0}}, `metadata "k": lists must hold strings`},
	} {
		vs := rawVectors(1, 4, tc.md)
		vs[0].Id = tc.id
		_, err := conn.UpsertVectors(t.Context(), vs)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
	q := []float32{1, 0, 0, 0}
	for _, tc := range []struct {
		name   string
		topK   uint32
		filter map[string]any
		want   string
	}{
		{"top_k over 10000", 10001, nil, "top_k 10001 must be between 1 and 10000"},
		{"unknown operator", 1, map[string]any{"a": map[string]any{"$regex": "x"}}, "unknown operator $regex"},
		{"$gt on a string", 1, map[string]any{"a": map[string]any{"$gt": "x"}}, "must be a number"},
		{"$in with a boolean", 1, map[string]any{"a": map[string]any{"$in": []any{true}}}, "must be a string or number"},
		{"empty $and", 1, map[string]any{"$and": []any{}}, "$and needs a non-empty array"},
	} {
		var f *structpb.Struct
		if tc.filter != nil {
			f, err = structpb.NewStruct(tc.filter)
			require.NoError(t, err)
		}
		_, err := conn.QueryByVectorValues(t.Context(), &pc.QueryByVectorValuesRequest{Vector: q, TopK: tc.topK, MetadataFilter: f})
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
	// A result over 4 MB is refused; the same query without metadata is not.
	for i := range 4 {
		vs := rawVectors(50, 4, map[string]any{"blob": strings.Repeat("z", 30<<10)})
		for j, v := range vs {
			v.Id = fmt.Sprintf("big-%d-%d", i, j)
		}
		_, err := conn.UpsertVectors(t.Context(), vs)
		require.NoError(t, err)
	}
	_, err = conn.QueryByVectorValues(t.Context(), &pc.QueryByVectorValuesRequest{Vector: q, TopK: 200, IncludeMetadata: true})
	assert.ErrorContains(t, err, "exceeds the 4MB result size limit")
	res, err := conn.QueryByVectorValues(t.Context(), &pc.QueryByVectorValuesRequest{Vector: q, TopK: 200})
	require.NoError(t, err)
	assert.Len(t, res.Matches, 200)
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

// Issue 20, point 6: Pinecone fails a query whose result exceeds 4 MB, and
// the fake does too. 1,500 records with 3 KB of metadata each make a 4.6 MB
// result at TopK 1500: the Store asks for IDs and scores only, then fetches
// the records in requests of at most 1,000 IDs, keeping Pinecone's order
// (ties by ID).
func TestQueryLargeTopKStaysUnderResponseLimit(t *testing.T) {
	clearEnv(t)
	srv := newFake(t)
	rec := &recorder{}
	srv.SetObserver(rec.observe)
	const n, dim = 1500, 8
	s, _ := openStore(t, srv, dim, index.DotProduct)
	want := recs(n, dim, func(i int) index.Metadata {
		return index.Metadata{"i": int64(i), "blob": strings.Repeat(string(rune('a'+i%26)), 3<<10)}
	})
	for i := 0; i < n; i += 7 { // ties: seven records share each vector
		for j := i + 1; j < min(i+7, n); j++ {
			want[j].Vector = want[i].Vector
		}
	}
	require.NoError(t, s.Upsert(t.Context(), "q", want))
	byID := map[string]index.Record{}
	for _, r := range want {
		byID[r.ID] = r
	}
	q := index.Query{Namespace: "q", Vector: want[3].Vector, TopK: n}
	for _, withVectors := range []bool{false, true} {
		t.Run(fmt.Sprintf("vectors=%v", withVectors), func(t *testing.T) {
			q.IncludeVectors = withVectors
			fetches := len(rec.of("Fetch"))
			got, err := s.Query(t.Context(), q)
			require.NoError(t, err)
			require.Len(t, got, n)
			for i, m := range got {
				r := byID[m.ID]
				assert.Equal(t, r.Metadata["blob"], m.Metadata["blob"], "match %d (%s)", i, m.ID)
				if withVectors {
					assert.Equal(t, r.Vector, m.Vector, "match %d (%s)", i, m.ID)
				} else {
					assert.Nil(t, m.Vector)
				}
				if i > 0 {
					prev := got[i-1]
					require.True(t, prev.Score > m.Score || prev.Score == m.Score && prev.ID < m.ID,
						"order at %d: %s %v then %s %v", i, prev.ID, prev.Score, m.ID, m.Score)
				}
			}
			calls := rec.of("Fetch")[fetches:]
			require.Len(t, calls, 2, "1,500 IDs fetched in two requests")
			for _, c := range calls {
				assert.LessOrEqual(t, len(c.IDs), pinecone.MaxIDsPerRequest)
			}
			// A small query takes one step and agrees with the large one.
			small, err := s.Query(t.Context(), index.Query{Namespace: "q", Vector: q.Vector, TopK: 20, IncludeVectors: withVectors})
			require.NoError(t, err)
			assert.Equal(t, got[:20], small)
			assert.Len(t, rec.of("Fetch"), fetches+2, "no fetch for TopK 20")
		})
	}
}
