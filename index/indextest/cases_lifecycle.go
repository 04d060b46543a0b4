package indextest

import (
	"context"
	"fmt"
	"github.com/shoalhq/shoal/embedding"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

func lifecycleCases() []testCase {
	return []testCase{
		{"CancelledContext", testCancelledContext},
		{"Closed", testClosed},
		{"ConcurrentReadersWriters", testConcurrentReadersWriters},
		{"LargeBatch", testLargeBatch},
		{"UpsertAllDuplicateInStream", testUpsertAllDuplicateInStream},
		{"Counter", testCounter},
		{"Namespacer", testNamespacer},
	}
}

func testCancelledContext(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	recs := RandomRecords(40, 5, cfg.Dim)
	upsert(t, s, ns, recs...)

	t.Run("Upsert", func(t *testing.T) {
		fresh := RandomRecords(41, 8, cfg.Dim)[5:]
		overwrite := rec(recs[0].ID, constVec(cfg.Dim, 5, 5), nil)
		err := s.Upsert(cancelled(t), ns, append(fresh, overwrite))
		assert.ErrorIs(t, err, context.Canceled)
		assertAbsent(t, s, ns, recordIDs(fresh)...)
		assertUnchanged(t, s, ns, cfg.Metric, recs[0])
	})
	t.Run("Query", func(t *testing.T) {
		ms, err := s.Query(cancelled(t), index.Query{Namespace: ns, Vector: recs[0].Vector, TopK: 3})
		assert.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, ms)
	})
	t.Run("Fetch", func(t *testing.T) {
		got, err := s.Fetch(cancelled(t), ns, recordIDs(recs))
		assert.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, got)
	})
	t.Run("Delete", func(t *testing.T) {
		err := s.Delete(cancelled(t), ns, recordIDs(recs))
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, recordIDs(recs), recordIDs(fetch(t, s, ns, recordIDs(recs)...)), "a cancelled Delete deletes nothing")
	})
	t.Run("Scan", func(t *testing.T) {
		_, err := scanErr(cancelled(t), s, ns, index.Filter{})
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("Count", func(t *testing.T) {
		c, ok := s.(index.Counter)
		if !ok {
			t.Skip("the store does not implement index.Counter")
		}
		_, err := c.Count(cancelled(t), ns)
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("Namespaces", func(t *testing.T) {
		n, ok := s.(index.Namespacer)
		if !ok {
			t.Skip("the store does not implement index.Namespacer")
		}
		_, err := n.Namespaces(cancelled(t))
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func testClosed(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	recs := RandomRecords(42, 3, cfg.Dim)
	upsert(t, s, ns, recs...)
	require.NoError(t, s.Close(), "Close")
	ctx := t.Context()

	assert.ErrorIs(t, s.Upsert(ctx, ns, RandomRecords(43, 1, cfg.Dim)), index.ErrClosed, "Upsert after Close")
	ms, err := s.Query(ctx, index.Query{Namespace: ns, Vector: recs[0].Vector, TopK: 1})
	assert.ErrorIs(t, err, index.ErrClosed, "Query after Close")
	assert.Empty(t, ms)
	got, err := s.Fetch(ctx, ns, recordIDs(recs))
	assert.ErrorIs(t, err, index.ErrClosed, "Fetch after Close")
	assert.Empty(t, got)
	assert.ErrorIs(t, s.Delete(ctx, ns, recordIDs(recs)), index.ErrClosed, "Delete after Close")
	_, err = scanErr(ctx, s, ns, index.Filter{})
	assert.ErrorIs(t, err, index.ErrClosed, "Scan after Close")
	if c, ok := s.(index.Counter); ok {
		_, err := c.Count(ctx, ns)
		assert.ErrorIs(t, err, index.ErrClosed, "Count after Close")
	}
	if n, ok := s.(index.Namespacer); ok {
		_, err := n.Namespaces(ctx)
		assert.ErrorIs(t, err, index.ErrClosed, "Namespaces after Close")
	}
	assert.NoError(t, s.Close(), "a second Close (Close is idempotent)")
}

// sharedVec encodes who wrote the shared record of ConcurrentReadersWriters
// into its vector, so that a torn write (vector of one call, metadata of
// another) shows.
func sharedVec(dim, writer, round int) []float32 {
	return constVec(dim, float32(1+writer), float32(1+round))
}

func checkShared(t *testing.T, r index.Record) {
	t.Helper()
	w, okW := r.Metadata.Number("writer")
	rd, okR := r.Metadata.Number("round")
	if assert.True(t, okW && okR, "shared record metadata %v", r.Metadata) && assert.Len(t, r.Vector, defaultDim) {
		assert.Equal(t, sharedVec(defaultDim, int(w), int(rd)), r.Vector,
			"the shared record's vector and metadata come from the same Upsert")
	}
}

func testConcurrentReadersWriters(t *testing.T, h *harness) {
	const writers, rounds, perRound, readers, reads = 4, 8, 10, 3, 12
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	ctx := t.Context()
	base := RandomRecords(44, 100, cfg.Dim)
	for i := range base {
		base[i].Metadata["kind"] = "base"
	}
	upsert(t, s, ns, base...)
	upsert(t, s, ns, rec("shared", sharedVec(cfg.Dim, 0, 0), index.Metadata{"writer": int64(0), "round": int64(0)}))

	written := func(w, r, i int) string { return fmt.Sprintf("w%d-%d-%d", w, r, i) }
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			vecs := RandomVectors(uint64(100+w), rounds*perRound, cfg.Dim)
			for r := range rounds {
				batch := make([]index.Record, 0, perRound+1)
				var odd []string
				for i := range perRound {
					id := written(w, r, i)
					batch = append(batch, rec(id, vecs[r*perRound+i], index.Metadata{"kind": "written", "w": int64(w)}))
					if i%2 == 1 {
						odd = append(odd, id)
					}
				}
				batch = append(batch, rec("shared", sharedVec(cfg.Dim, w, r), index.Metadata{"writer": int64(w), "round": int64(r)}))
				if !assert.NoError(t, s.Upsert(ctx, ns, batch), "writer %d round %d: Upsert", w, r) ||
					!assert.NoError(t, s.Delete(ctx, ns, odd), "writer %d round %d: Delete", w, r) {
					return
				}
			}
		})
	}
	fetchIDs := append(recordIDs(base), "shared")
	for rd := range readers {
		wg.Go(func() {
			for k := range reads {
				ms, err := s.Query(ctx, index.Query{Namespace: ns, Vector: base[k].Vector, TopK: 10, Filter: index.Exists("kind")})
				if assert.NoError(t, err, "reader %d: Query", rd) {
					assert.Len(t, ms, 10, "reader %d: Query", rd)
					assertSortedByScore(t, ms, "reader %d: Query", rd)
				}
				got, err := s.Fetch(ctx, ns, fetchIDs)
				if assert.NoError(t, err, "reader %d: Fetch", rd) && assert.Len(t, got, len(base)+1, "reader %d: Fetch", rd) {
					assertRecord(t, cfg.Metric, base[k], got[k])
					checkShared(t, got[len(base)])
				}
				recs, err := ScanAll(ctx, s, ns, index.Eq("kind", "base"))
				if assert.NoError(t, err, "reader %d: Scan", rd) {
					assert.Len(t, recs, len(base), "reader %d: Scan of the records nobody writes", rd)
				}
				if _, err := index.Count(ctx, s, ns); !assert.NoError(t, err, "reader %d: Count", rd) {
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	want := base
	for w := range writers {
		for r := range rounds {
			for i := 0; i < perRound; i += 2 {
				want = append(want, index.Record{ID: written(w, r, i)})
			}
		}
	}
	got := scan(t, s, ns, index.Filter{})
	assertUniqueIDs(t, recordIDs(got), "final Scan")
	assert.Equal(t, sorted(append(recordIDs(want), "shared")), sorted(recordIDs(got)), "final state")
	assert.Equal(t, len(want)+1, count(t, s, ns), "final Count")
	shared := fetch(t, s, ns, "shared")
	require.Len(t, shared, 1)
	checkShared(t, shared[0])
	round, _ := shared[0].Metadata.Number("round")
	assert.Equal(t, float64(rounds-1), round, "the last write of the shared record is some writer's last round")
}

func testLargeBatch(t *testing.T, h *harness) {
	const n = 5000
	cfg := Config{Dim: 16, Metric: index.Euclidean}
	s, ns := h.store(t, cfg), h.ns()
	recs := RandomRecords(45, n, cfg.Dim)
	written, err := index.UpsertAll(t.Context(), s, ns, index.Records(recs))
	require.NoError(t, err, "UpsertAll of %d records", n)
	assert.Equal(t, n, written, "UpsertAll's count")
	assert.Equal(t, n, count(t, s, ns), "Count")
	assertRecordSet(t, cfg.Metric, recs, scan(t, s, ns, index.Filter{}), "Scan after UpsertAll")
	vecs := byID(recs)
	for _, i := range []int{0, 1234, n - 1} {
		ms := query(t, s, index.Query{Namespace: ns, Vector: recs[i].Vector, TopK: 3})
		if !assert.Len(t, ms, 3, "Query TopK 3 after UpsertAll") {
			continue
		}
		if !h.approximate {
			assert.Equal(t, recs[i].ID, ms[0].ID, "a record is its own nearest neighbour")
		}
		// An approximate store may miss the record (the Recall case
		// measures how often), but its scores are exact.
		for _, m := range ms {
			if r, ok := vecs[m.ID]; assert.True(t, ok, "unknown ID %q returned", m.ID) {
				assertScore(t, Score(cfg.Metric, recs[i].Vector, r.Vector), m.Score, "score of %q", m.ID)
			}
		}
	}
	sel := scan(t, s, ns, index.And(index.Eq("group", "gamma"), index.Lt("i", 1000)))
	var want []string
	for _, r := range recs[:1000] {
		if r.Metadata["group"] == "gamma" {
			want = append(want, r.ID)
		}
	}
	assert.Equal(t, sorted(want), sorted(recordIDs(sel)), "filtered Scan after UpsertAll")
}

func testUpsertAllDuplicateInStream(t *testing.T, h *harness) {
	const n, dup, first = 300, 250, 10
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	recs := RandomRecords(46, n, cfg.Dim)
	original := recs[first]
	recs[dup].ID = original.ID
	written, err := index.UpsertAll(t.Context(), s, ns, index.Records(recs), embedding.WithBatchSize(50))
	requireItemError(t, err, index.ErrInvalidID, dup, original.ID)
	assert.LessOrEqual(t, written, dup, "records after the duplicate are not written")
	assert.Equal(t, written, count(t, s, ns), "the store holds what UpsertAll acknowledged")
	assertAbsent(t, s, ns, recordIDs(recs[dup+1:])...)
	if got := fetch(t, s, ns, original.ID); len(got) == 1 {
		assertRecord(t, cfg.Metric, original, got[0]) // the duplicate did not overwrite it
	}
}

func testCounter(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	c, ok := s.(index.Counter)
	if !ok {
		t.Skip("the store does not implement index.Counter")
	}
	check := func(want int, msg string) {
		t.Helper()
		n, err := c.Count(t.Context(), ns)
		require.NoError(t, err, msg)
		assert.Equal(t, want, n, msg)
		assert.Len(t, scan(t, s, ns, index.Filter{}), want, "Scan agrees with Count: "+msg)
	}
	check(0, "a namespace that does not exist")
	recs := RandomRecords(47, 8, cfg.Dim)
	upsert(t, s, ns, recs[:7]...)
	check(7, "after inserting 7")
	upsert(t, s, ns, recs[5:]...) // two overwrites, one insert
	check(8, "after overwriting 2 and inserting 1")
	require.NoError(t, s.Delete(t.Context(), ns, []string{recs[0].ID, recs[1].ID, "missing"}))
	check(6, "after deleting 2 (and a missing ID)")
	other := h.ns("other")
	upsert(t, s, other, recs[:1]...)
	n, err := c.Count(t.Context(), other)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "Count is per namespace")
}

func testNamespacer(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s := h.store(t, cfg)
	lister, ok := s.(index.Namespacer)
	if !ok {
		t.Skip("the store does not implement index.Namespacer")
	}
	a, b := h.ns("a"), h.ns("b")
	upsert(t, s, a, RandomRecords(48, 2, cfg.Dim)...)
	upsert(t, s, b, RandomRecords(49, 1, cfg.Dim)...)
	names, err := lister.Namespaces(t.Context())
	require.NoError(t, err)
	assert.Contains(t, names, a)
	assert.Contains(t, names, b)
	assert.NotContains(t, names, h.ns("never"), "a namespace nobody wrote into")
	assertUniqueIDs(t, names, "Namespaces lists each namespace once")
}
