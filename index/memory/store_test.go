package memory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
	"github.com/shoalhq/shoal/index/memory"
)

func newMem(t *testing.T, opts ...memory.Option) *memory.Store {
	t.Helper()
	s, err := memory.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openDir(t *testing.T, dir string, opts ...memory.Option) *memory.Store {
	t.Helper()
	s, err := memory.Open(t.Context(), dir, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// reopen closes s and opens dir again.
func reopen(t *testing.T, s *memory.Store, dir string, opts ...memory.Option) *memory.Store {
	t.Helper()
	require.NoError(t, s.Close())
	return openDir(t, dir, opts...)
}

func fetchAll(t *testing.T, s *memory.Store, ns string) map[string]index.Record {
	t.Helper()
	recs, err := indextest.ScanAll(t.Context(), s, ns, index.Filter{})
	require.NoError(t, err)
	out := make(map[string]index.Record, len(recs))
	for _, r := range recs {
		require.NotContains(t, out, r.ID, "Scan yielded %q twice", r.ID)
		out[r.ID] = r
	}
	return out
}

// requireSameRecords checks exact equality: vectors bit for bit, metadata
// with the same Go types.
func requireSameRecords(t *testing.T, want []index.Record, got map[string]index.Record) {
	t.Helper()
	require.Len(t, got, len(want))
	for _, w := range want {
		g, ok := got[w.ID]
		require.True(t, ok, "record %q missing", w.ID)
		require.Equal(t, w.Vector, g.Vector, "vector of %q", w.ID)
		require.Equal(t, w.Metadata, g.Metadata, "metadata of %q", w.ID)
	}
}

// TestOptionsValidation gives each option a bad value, and New the options
// of persistent stores: the constructor fails with an error wrapping
// index.ErrInvalidArgument that names the option.
func TestOptionsValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opt     memory.Option
		message string // in the error
		openOK  bool   // Open accepts it, New does not
	}{
		{"unknown metric", memory.WithMetric(index.Metric(7)), "memory.WithMetric", false},
		{"negative dimension", memory.WithDimension(-1), "memory.WithDimension(-1)", false},
		{"negative compaction threshold", memory.WithCompactionThreshold(-1), "memory.WithCompactionThreshold", false},
		{"zero parallelism", memory.WithParallelism(0), "memory.WithParallelism(0)", false},
		{"zero parallel threshold", memory.WithParallelThreshold(0), "memory.WithParallelThreshold(0)", false},
		{"nil option", nil, "memory option 0 is nil", false},
		{"WithSync for New", memory.WithSync(false), "memory.WithSync applies to a persistent store (Open), not to New", true},
		{"WithCompactionThreshold for New", memory.WithCompactionThreshold(1 << 20), "memory.WithCompactionThreshold applies", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := memory.New(tt.opt)
			assert.ErrorIs(t, err, index.ErrInvalidArgument)
			assert.ErrorContains(t, err, tt.message)
			s, err := memory.Open(t.Context(), t.TempDir(), tt.opt)
			if tt.openOK {
				require.NoError(t, err)
				require.NoError(t, s.Close())
				return
			}
			assert.ErrorIs(t, err, index.ErrInvalidArgument)
			assert.ErrorContains(t, err, tt.message)
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	s := newMem(t)
	assert.Equal(t, index.Cosine, s.Metric())
	assert.Zero(t, s.Dimension())
}

func TestOpenEmptyDir(t *testing.T) {
	t.Parallel()
	_, err := memory.Open(t.Context(), "")
	assert.ErrorIs(t, err, index.ErrInvalidArgument)
}

func TestOpenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := memory.Open(ctx, t.TempDir())
	assert.ErrorIs(t, err, context.Canceled)
}

func TestInvalidNamespace(t *testing.T) {
	t.Parallel()
	s := newMem(t)
	for _, ns := range []string{strings.Repeat("n", index.MaxIDLength+1), "bad\xff", "nul\x00"} {
		err := s.Upsert(t.Context(), ns, []index.Record{{ID: "a", Vector: []float32{1}}})
		assert.ErrorIs(t, err, index.ErrInvalidArgument, "Upsert into %q", ns)
		_, err = s.Query(t.Context(), index.Query{Namespace: ns, Vector: []float32{1}, TopK: 1})
		assert.ErrorIs(t, err, index.ErrInvalidArgument, "Query of %q", ns)
		_, err = s.Fetch(t.Context(), ns, []string{"a"})
		assert.ErrorIs(t, err, index.ErrInvalidArgument, "Fetch from %q", ns)
		assert.ErrorIs(t, s.Delete(t.Context(), ns, []string{"a"}), index.ErrInvalidArgument, "Delete from %q", ns)
		_, err = s.Count(t.Context(), ns)
		assert.ErrorIs(t, err, index.ErrInvalidArgument, "Count of %q", ns)
		_, err = indextest.ScanAll(t.Context(), s, ns, index.Filter{})
		assert.ErrorIs(t, err, index.ErrInvalidArgument, "Scan of %q", ns)
	}
}

func TestCosineRejectsVectorsWithoutDirection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vec  []float32
	}{
		{"zeros", []float32{0, 0, 0}},
		{"negative zeros", []float32{0, float32(negZero()), 0}},
		{"norm too small to invert", []float32{1e-45, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newMem(t)
			err := s.Upsert(t.Context(), "ns", []index.Record{
				{ID: "ok", Vector: []float32{1, 2, 3}},
				{ID: "bad", Vector: tt.vec},
			})
			require.ErrorIs(t, err, index.ErrInvalidVector)
			var ie *index.ItemError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, 1, ie.Index)
			assert.Equal(t, "bad", ie.ID)
			n, err := s.Count(t.Context(), "ns")
			require.NoError(t, err)
			assert.Zero(t, n, "nothing of the batch is written")

			_, err = s.Query(t.Context(), index.Query{Namespace: "ns", Vector: tt.vec, TopK: 1})
			assert.ErrorIs(t, err, index.ErrInvalidVector, "query vector")
		})
	}
	// Other metrics accept a zero vector.
	for _, m := range []index.Metric{index.DotProduct, index.Euclidean} {
		s := newMem(t, memory.WithMetric(m))
		require.NoError(t, s.Upsert(t.Context(), "ns", []index.Record{{ID: "z", Vector: []float32{0, 0}}}), m)
	}
}

func negZero() float64 { z := 0.0; return -z }

func TestCosineKeepsVectorsAsGiven(t *testing.T) {
	t.Parallel()
	s := newMem(t)
	v := []float32{3, 4}
	require.NoError(t, s.Upsert(t.Context(), "", []index.Record{{ID: "a", Vector: v}}))
	got, err := s.Fetch(t.Context(), "", []string{"a"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, v, got[0].Vector, "Fetch returns the vector upserted, not its unit version")
	ms, err := s.Query(t.Context(), index.Query{Vector: []float32{6, 8}, TopK: 1, IncludeVectors: true})
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.InDelta(t, 1, ms[0].Score, 1e-6)
	assert.LessOrEqual(t, ms[0].Score, float32(1), "cosine scores are clamped to [-1, 1]")
	assert.Equal(t, v, ms[0].Vector)
}

func TestStoreDimension(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openDir(t, dir, memory.WithDimension(3), memory.WithMetric(index.Euclidean))
	assert.Equal(t, 3, s.Dimension())
	err := s.Upsert(t.Context(), "a", []index.Record{{ID: "x", Vector: []float32{1, 2}}})
	assert.ErrorIs(t, err, index.ErrDimension, "store-wide dimension applies to a new namespace")
	require.NoError(t, s.Upsert(t.Context(), "a", []index.Record{{ID: "x", Vector: []float32{1, 2, 3}}}))
	_, err = s.Query(t.Context(), index.Query{Namespace: "missing", Vector: []float32{1}, TopK: 1})
	assert.ErrorIs(t, err, index.ErrDimension, "query of a missing namespace is checked against the store's dimension")

	// The directory remembers metric and dimension.
	s = reopen(t, s, dir)
	assert.Equal(t, 3, s.Dimension())
	assert.Equal(t, index.Euclidean, s.Metric())
	require.NoError(t, s.Close())

	_, err = memory.Open(t.Context(), dir, memory.WithDimension(4))
	assert.ErrorIs(t, err, index.ErrInvalidArgument, "another dimension")
	_, err = memory.Open(t.Context(), dir, memory.WithMetric(index.Cosine))
	assert.ErrorIs(t, err, index.ErrInvalidArgument, "another metric")
	s = openDir(t, dir, memory.WithDimension(3), memory.WithMetric(index.Euclidean))
	got, err := s.Fetch(t.Context(), "a", []string{"x"})
	require.NoError(t, err)
	assert.Len(t, got, 1)
}

func TestEmptiedNamespaceFreesItsDimension(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openDir(t, dir)
	ctx := t.Context()
	require.NoError(t, s.Upsert(ctx, "ns", []index.Record{{ID: "a", Vector: []float32{1, 2}}}))
	require.ErrorIs(t, s.Upsert(ctx, "ns", []index.Record{{ID: "b", Vector: []float32{1, 2, 3}}}), index.ErrDimension)
	require.NoError(t, s.Delete(ctx, "ns", []string{"a"}))
	names, err := s.Namespaces(ctx)
	require.NoError(t, err)
	assert.Empty(t, names)
	require.NoError(t, s.Upsert(ctx, "ns", []index.Record{{ID: "b", Vector: []float32{1, 2, 3}}}))

	s = reopen(t, s, dir)
	got := fetchAll(t, s, "ns")
	requireSameRecords(t, []index.Record{{ID: "b", Vector: []float32{1, 2, 3}}}, got)
}

func TestFetchReturnsEachRecordOnce(t *testing.T) {
	t.Parallel()
	s := newMem(t)
	recs := []index.Record{{ID: "a", Vector: []float32{1}}, {ID: "b", Vector: []float32{2}}}
	require.NoError(t, s.Upsert(t.Context(), "", recs))
	got, err := s.Fetch(t.Context(), "", []string{"b", "missing", "a", "b", ""})
	require.NoError(t, err)
	ids := make([]string, len(got))
	for i, r := range got {
		ids[i] = r.ID
	}
	assert.Equal(t, []string{"b", "a"}, ids)
}

func TestResultsAreCopies(t *testing.T) {
	t.Parallel()
	s := newMem(t, memory.WithMetric(index.DotProduct))
	ctx := t.Context()
	orig := index.Record{ID: "a", Vector: []float32{1, 2}, Metadata: index.Metadata{"tags": []string{"x"}, "n": int64(1)}}
	require.NoError(t, s.Upsert(ctx, "", []index.Record{orig}))
	mutate := func(v []float32, md index.Metadata) {
		v[0] = 99
		md["n"] = int64(99)
		md["tags"].([]string)[0] = "changed"
		md["new"] = true
	}
	got, err := s.Fetch(ctx, "", []string{"a"})
	require.NoError(t, err)
	mutate(got[0].Vector, got[0].Metadata)
	ms, err := s.Query(ctx, index.Query{Vector: []float32{1, 1}, TopK: 1, IncludeVectors: true})
	require.NoError(t, err)
	require.Len(t, ms, 1)
	mutate(ms[0].Vector, ms[0].Metadata)
	for r, err := range s.Scan(ctx, "", index.Filter{}) {
		require.NoError(t, err)
		mutate(r.Vector, r.Metadata)
	}
	requireSameRecords(t, []index.Record{orig}, fetchAll(t, s, ""))
}

func TestClosed(t *testing.T) {
	t.Parallel()
	for _, persistent := range []bool{false, true} {
		t.Run(fmt.Sprint("persistent=", persistent), func(t *testing.T) {
			t.Parallel()
			var s *memory.Store
			if persistent {
				s = openDir(t, t.TempDir())
			} else {
				s = newMem(t)
			}
			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "Close is idempotent")
			ctx := t.Context()
			assert.ErrorIs(t, s.Compact(ctx), index.ErrClosed)
			_, err := s.Namespaces(ctx)
			assert.ErrorIs(t, err, index.ErrClosed)
			_, err = s.Count(ctx, "")
			assert.ErrorIs(t, err, index.ErrClosed)
		})
	}
}

func TestLockedDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openDir(t, dir)
	_, err := memory.Open(t.Context(), dir)
	require.ErrorIs(t, err, memory.ErrLocked)
	require.NoError(t, s.Close())
	s2 := openDir(t, dir)
	require.NoError(t, s2.Close())
}

// allTypes holds every metadata type, and the nil/empty cases, with values
// that a lossy encoding would change (an int64 beyond 2^53, -0.0, NaN-free
// extremes).
func allTypes() []index.Record {
	return []index.Record{
		{ID: "full", Vector: []float32{1, -2.5, 3e-38}, Metadata: index.Metadata{
			"s":      "héllo 🐟",
			"empty":  "",
			"t":      true,
			"f":      false,
			"i":      int64(1<<62 + 1),
			"neg":    int64(-7),
			"x":      3.0, // a float64 that looks like an integer stays float64
			"pi":     3.141592653589793,
			"tiny":   5e-324,
			"list":   []string{"a", "", "ü"},
			"nolist": []string{},
		}},
		{ID: "nil-metadata", Vector: []float32{0.5, 0.25, 1}},
		{ID: "empty-metadata", Vector: []float32{1, 1, 1}, Metadata: index.Metadata{}},
		{ID: "nil-list", Vector: []float32{1, 0, 1}, Metadata: index.Metadata{"l": []string(nil)}},
		{ID: "converted", Vector: []float32{2, 0, 1}, Metadata: index.Metadata{"int": 5, "f32": float32(0.5)}},
	}
}

func TestPersistenceRoundTripOfEveryType(t *testing.T) {
	t.Parallel()
	want := allTypes()
	// Upsert normalises int to int64 and float32 to float64.
	want[4].Metadata = index.Metadata{"int": int64(5), "f32": float64(0.5)}
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprint("compact=", compact), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := openDir(t, dir)
			require.NoError(t, s.Upsert(t.Context(), "types", allTypes()))
			if compact {
				require.NoError(t, s.Compact(t.Context()))
			}
			s = reopen(t, s, dir)
			got := fetchAll(t, s, "types")
			requireSameRecords(t, want, got)
			assert.IsType(t, int64(0), got["full"].Metadata["i"])
			assert.IsType(t, float64(0), got["full"].Metadata["x"])
			assert.Nil(t, got["nil-metadata"].Metadata)
			assert.NotNil(t, got["empty-metadata"].Metadata)
			assert.Nil(t, got["nil-list"].Metadata["l"])
			assert.NotNil(t, got["full"].Metadata["nolist"])
		})
	}
}

func TestReopenAfterDeleteAndOverwrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	s := openDir(t, dir, memory.WithMetric(index.DotProduct))
	recs := indextest.RandomRecords(1, 50, 4)
	require.NoError(t, s.Upsert(ctx, "a", recs))
	require.NoError(t, s.Upsert(ctx, "b", recs[:5]))
	var deleted []string
	for i := 0; i < 50; i += 3 {
		deleted = append(deleted, recs[i].ID)
	}
	require.NoError(t, s.Delete(ctx, "a", append(deleted, "never-there")))
	recs[1].Vector = []float32{9, 9, 9, 9}
	recs[1].Metadata = index.Metadata{"overwritten": true}
	require.NoError(t, s.Upsert(ctx, "a", recs[1:2]))

	var want []index.Record
	for _, r := range recs {
		if !slices.Contains(deleted, r.ID) {
			want = append(want, r)
		}
	}
	requireSameRecords(t, want, fetchAll(t, s, "a"))
	for range 2 { // reopen twice: the second load replays a log that the first one appended to
		s = reopen(t, s, dir)
		requireSameRecords(t, want, fetchAll(t, s, "a"))
		require.NoError(t, s.Upsert(ctx, "c", []index.Record{{ID: "x", Vector: []float32{1, 2, 3, 4}}}))
	}
	names, err := s.Namespaces(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, names)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}

func TestAutomaticCompaction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	const threshold = 16 << 10
	s := openDir(t, dir, memory.WithCompactionThreshold(threshold), memory.WithMetric(index.Euclidean))
	recs := indextest.RandomRecords(2, 400, 16)
	for i := 0; i < len(recs); i += 10 {
		require.NoError(t, s.Upsert(ctx, "ns", recs[i:i+10]))
	}
	// Delete a quarter and overwrite another quarter, so that the log
	// holds history the snapshot drops.
	var ids []string
	for _, r := range recs[:100] {
		ids = append(ids, r.ID)
	}
	require.NoError(t, s.Delete(ctx, "ns", ids))
	for i := 100; i < 200; i++ {
		recs[i].Metadata["i"] = int64(-i)
	}
	require.NoError(t, s.Upsert(ctx, "ns", recs[100:200]))

	snap := filepath.Join(dir, "store.snap")
	require.FileExists(t, snap, "the log passed the threshold")
	assert.Less(t, fileSize(t, filepath.Join(dir, "store.wal")), max(int64(threshold), fileSize(t, snap))+int64(64<<10),
		"the log was restarted after the snapshot")
	assert.NoFileExists(t, snap+".tmp")

	s = reopen(t, s, dir)
	requireSameRecords(t, recs[100:], fetchAll(t, s, "ns"))
}

func TestCompactThenWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	s := openDir(t, dir, memory.WithCompactionThreshold(0))
	recs := indextest.RandomRecords(3, 30, 8)
	require.NoError(t, s.Upsert(ctx, "ns", recs[:20]))
	require.NoError(t, s.Compact(ctx))
	require.NoError(t, s.Upsert(ctx, "ns", recs[20:]))
	require.NoError(t, s.Delete(ctx, "ns", []string{recs[0].ID}))
	require.NoError(t, s.Compact(ctx))
	require.NoError(t, s.Delete(ctx, "ns", []string{recs[1].ID}))
	s = reopen(t, s, dir)
	requireSameRecords(t, recs[2:], fetchAll(t, s, "ns"))
}

// TestStaleLogAfterInterruptedCompaction puts back the log a compaction
// replaced, as if the process had died between renaming the new snapshot
// into place and starting the new log: its entries are all in the snapshot,
// and replaying them again (a delete, then an upsert of another dimension)
// would be wrong.
func TestStaleLogAfterInterruptedCompaction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	s := openDir(t, dir, memory.WithCompactionThreshold(0), memory.WithMetric(index.DotProduct))
	require.NoError(t, s.Upsert(ctx, "ns", []index.Record{{ID: "a", Vector: []float32{1, 2}}}))
	require.NoError(t, s.Delete(ctx, "ns", []string{"a"}))
	require.NoError(t, s.Upsert(ctx, "ns", []index.Record{{ID: "b", Vector: []float32{1, 2, 3}}}))
	logPath := filepath.Join(dir, "store.wal")
	old, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.NoError(t, s.Compact(ctx))
	require.NoError(t, s.Close())
	require.NoError(t, os.WriteFile(logPath, old, 0o644))

	s = openDir(t, dir)
	requireSameRecords(t, []index.Record{{ID: "b", Vector: []float32{1, 2, 3}}}, fetchAll(t, s, "ns"))
	require.NoError(t, s.Upsert(ctx, "ns", []index.Record{{ID: "c", Vector: []float32{3, 2, 1}}}))
	s = reopen(t, s, dir)
	assert.Len(t, fetchAll(t, s, "ns"), 2)
}

func TestLeftoverTempFilesAreRemoved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openDir(t, dir)
	require.NoError(t, s.Upsert(t.Context(), "", []index.Record{{ID: "a", Vector: []float32{1}}}))
	require.NoError(t, s.Close())
	for _, name := range []string{"store.snap.tmp", "store.wal.tmp"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("half-written"), 0o644))
	}
	s = openDir(t, dir)
	assert.NoFileExists(t, filepath.Join(dir, "store.snap.tmp"))
	assert.NoFileExists(t, filepath.Join(dir, "store.wal.tmp"))
	assert.Len(t, fetchAll(t, s, ""), 1)
}

// TestParallelSearchEqualsSerial compares a store that splits every query
// across goroutines with one that never does, for every metric, with and
// without a filter, over a namespace with deletions (so slots were moved).
func TestParallelSearchEqualsSerial(t *testing.T) {
	t.Parallel()
	for _, m := range []index.Metric{index.Cosine, index.DotProduct, index.Euclidean} {
		t.Run(m.String(), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			serial := newMem(t, memory.WithMetric(m), memory.WithParallelThreshold(1<<30))
			parallel := newMem(t, memory.WithMetric(m), memory.WithParallelThreshold(1), memory.WithParallelism(4))
			recs := indextest.RandomRecords(4, 1200, 24)
			var del []string
			for i := 0; i < len(recs); i += 7 {
				del = append(del, recs[i].ID)
			}
			for _, s := range []*memory.Store{serial, parallel} {
				require.NoError(t, s.Upsert(ctx, "ns", recs))
				require.NoError(t, s.Delete(ctx, "ns", del))
			}
			filters := []index.Filter{{}, index.Eq("group", "beta"), index.And(index.Gte("score", 50.0), index.In("tags", "a", "c"))}
			for qi, q := range indextest.RandomVectors(5, 6, 24) {
				for _, f := range filters {
					for _, k := range []int{1, 10, 300} {
						query := index.Query{Namespace: "ns", Vector: q, TopK: k, Filter: f}
						want, err := serial.Query(ctx, query)
						require.NoError(t, err)
						got, err := parallel.Query(ctx, query)
						require.NoError(t, err)
						require.Equal(t, want, got, "query %d, filter %v, k %d", qi, f, k)
						require.NotEmpty(t, got)
					}
				}
			}
		})
	}
}

// TestQueryMatchesBruteForceLarge checks the parallel search against a brute
// force over a namespace larger than the default threshold.
func TestQueryMatchesBruteForceLarge(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const n, dim = memory.DefaultParallelThreshold + 1000, 12
	s := newMem(t, memory.WithMetric(index.Euclidean), memory.WithParallelism(2))
	recs := indextest.RandomRecords(6, n, dim)
	require.NoError(t, s.Upsert(ctx, "ns", recs))
	q := indextest.RandomVectors(7, 1, dim)[0]
	got, err := s.Query(ctx, index.Query{Namespace: "ns", Vector: q, TopK: 25, Filter: index.Eq("even", true)})
	require.NoError(t, err)
	type scored struct {
		id    string
		score float64
	}
	var all []scored
	for _, r := range recs {
		if r.Metadata["even"] == true {
			all = append(all, scored{r.ID, indextest.Score(index.Euclidean, q, r.Vector)})
		}
	}
	slices.SortFunc(all, func(a, b scored) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	require.Len(t, got, 25)
	for i, m := range got {
		assert.Equal(t, all[i].id, m.ID, "rank %d", i)
		assert.InDelta(t, all[i].score, m.Score, 1e-4)
	}
}

func TestQueryCancelledMidScan(t *testing.T) {
	t.Parallel()
	s := newMem(t, memory.WithParallelThreshold(1))
	require.NoError(t, s.Upsert(t.Context(), "ns", indextest.RandomRecords(8, 5000, 4)))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Query(ctx, index.Query{Namespace: "ns", Vector: []float32{1, 0, 0, 0}, TopK: 3})
	assert.ErrorIs(t, err, context.Canceled)
}

// TestScanExactlyOnceUnderDeletes deletes records while a scan runs (which
// moves others between slots) and checks that every record never deleted is
// yielded exactly once, and no record twice.
func TestScanExactlyOnceUnderDeletes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newMem(t, memory.WithMetric(index.DotProduct))
	recs := indextest.RandomRecords(9, 2000, 4)
	require.NoError(t, s.Upsert(ctx, "ns", recs))
	deleted := map[string]bool{}
	seen := map[string]int{}
	rng := rand.New(rand.NewPCG(1, 2))
	for r, err := range s.Scan(ctx, "ns", index.Filter{}) {
		require.NoError(t, err)
		seen[r.ID]++
		if len(seen)%50 == 0 {
			var batch []string
			for range 40 {
				id := recs[rng.IntN(len(recs))].ID
				if seen[id] == 0 {
					deleted[id] = true
					batch = append(batch, id)
				}
			}
			require.NoError(t, s.Delete(ctx, "ns", batch), "the loop body may write to the store")
		}
	}
	for _, r := range recs {
		if deleted[r.ID] {
			// Deleted during the scan: may or may not be seen, never twice.
			assert.LessOrEqual(t, seen[r.ID], 1, "record %q", r.ID)
			continue
		}
		assert.Equal(t, 1, seen[r.ID], "record %q", r.ID)
	}
}

func TestScanStopsWhenClosed(t *testing.T) {
	t.Parallel()
	s := newMem(t)
	require.NoError(t, s.Upsert(t.Context(), "ns", indextest.RandomRecords(10, 1000, 4)))
	n := 0
	var last error
	for _, err := range s.Scan(t.Context(), "ns", index.Filter{}) {
		if err != nil {
			last = err
			break
		}
		n++
		if n == 10 {
			require.NoError(t, s.Close())
		}
	}
	assert.ErrorIs(t, last, index.ErrClosed)
	assert.Less(t, n, 1000)
}

// TestConcurrentReadersWriters runs writers, deleters, queries, fetches,
// scans and compactions at once on a persistent store (run it with -race),
// then checks the state against what the writers know must be there.
func TestConcurrentReadersWriters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	s := openDir(t, dir, memory.WithCompactionThreshold(32<<10), memory.WithParallelThreshold(64))
	const writers, perWriter, dim = 4, 60, 8
	var (
		mu   sync.Mutex
		want = map[string]index.Record{}
	)
	g, gctx := errgroup.WithContext(ctx)
	for w := range writers {
		g.Go(func() error {
			recs := indextest.RandomRecords(uint64(100+w), perWriter, dim)
			for i := range recs {
				recs[i].ID = fmt.Sprintf("w%d-%s", w, recs[i].ID)
			}
			for i := 0; i < len(recs); i += 5 {
				if err := s.Upsert(gctx, "ns", recs[i:i+5]); err != nil {
					return err
				}
				mu.Lock()
				for _, r := range recs[i : i+5] {
					want[r.ID] = r
				}
				mu.Unlock()
				if i%15 == 0 {
					if err := s.Delete(gctx, "ns", []string{recs[i].ID}); err != nil {
						return err
					}
					mu.Lock()
					delete(want, recs[i].ID)
					mu.Unlock()
				}
			}
			return nil
		})
	}
	for r := range 3 {
		g.Go(func() error {
			q := indextest.RandomVectors(uint64(r), 1, dim)[0]
			for i := range 40 {
				if _, err := s.Query(gctx, index.Query{Namespace: "ns", Vector: q, TopK: 5, Filter: index.Eq("even", i%2 == 0)}); err != nil {
					return err
				}
				if _, err := s.Fetch(gctx, "ns", []string{"w0-r00001", "w1-r00002"}); err != nil {
					return err
				}
				if _, err := indextest.ScanAll(gctx, s, "ns", index.Gte("score", 50.0)); err != nil {
					return err
				}
				if i%10 == 0 {
					if err := s.Compact(gctx); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	wantRecs := make([]index.Record, 0, len(want))
	for _, r := range want {
		wantRecs = append(wantRecs, r)
	}
	requireSameRecords(t, wantRecs, fetchAll(t, s, "ns"))
	s = reopen(t, s, dir)
	requireSameRecords(t, wantRecs, fetchAll(t, s, "ns"))
}

func TestErrorsAreNotRetryable(t *testing.T) {
	t.Parallel()
	s := newMem(t)
	err := s.Upsert(t.Context(), "", []index.Record{{ID: "", Vector: []float32{1}}})
	require.Error(t, err)
	assert.False(t, index.IsRetryable(err))
	assert.False(t, errors.Is(err, index.ErrCorrupt))
}
