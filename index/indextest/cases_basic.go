package indextest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

// cases lists every case of the suite, in the order Run starts them.
func cases() []testCase {
	var all []testCase
	for _, group := range [][]testCase{basicCases(), queryCases(), filterCases(), validationCases(), lifecycleCases(), tieCases(), recallCases()} {
		all = append(all, group...)
	}
	return all
}

func basicCases() []testCase {
	return []testCase{
		{"UpsertFetchRoundTrip", testUpsertFetchRoundTrip},
		{"MetadataNumberConversions", testMetadataNumberConversions},
		{"UpsertCopiesInput", testUpsertCopiesInput},
		{"UpsertEmptyBatch", testUpsertEmptyBatch},
		{"OverwriteReplaces", testOverwriteReplaces},
		{"OverwriteClearsMetadata", testOverwriteClearsMetadata},
		{"NamespaceIsolation", testNamespaceIsolation},
		{"DefaultNamespace", testDefaultNamespace},
		{"FetchMissingIDs", testFetchMissingIDs},
		{"FetchMissingNamespace", testFetchMissingNamespace},
		{"Delete", testDelete},
		{"DeleteMissingIDs", testDeleteMissingIDs},
		{"DeleteThenReinsert", testDeleteThenReinsert},
		{"ScanCompleteness", testScanCompleteness},
		{"ScanFilter", testScanFilter},
		{"ScanMissingNamespace", testScanMissingNamespace},
		{"ScanBreakEarly", testScanBreakEarly},
	}
}

// roundTripRecords hold every metadata type, zero values included, plus
// records without metadata.
func roundTripRecords(dim int) []index.Record {
	vecs := RandomVectors(1, 4, dim)
	return []index.Record{
		rec("full", vecs[0], index.Metadata{
			"s":       "hello",
			"unicode": "ñandú 🐟",
			"b":       true,
			"i":       int64(-42),
			"big":     int64(1) << 40,
			"f":       3.25,
			"neg":     -0.125,
			"list":    []string{"x", "y", "z"},
			"one":     []string{"only"},
		}),
		rec("zeros", vecs[1], index.Metadata{"b": false, "i": int64(0), "f": 0.0}),
		rec("nil-md", vecs[2], nil),
		rec("empty-md", vecs[3], index.Metadata{}),
	}
}

func testUpsertFetchRoundTrip(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	want := roundTripRecords(cfg.Dim)
	upsert(t, s, ns, want...)

	got := fetch(t, s, ns, recordIDs(want)...)
	require.Equal(t, recordIDs(want), recordIDs(got), "Fetch returns the records in the order of the ids")
	for i := range want {
		assertRecord(t, cfg.Metric, want[i], got[i])
	}
	// Types survive: a string stays a string, a bool a bool, a list a list.
	full := got[0].Metadata
	assert.IsType(t, "", full["s"], "string field")
	assert.IsType(t, true, full["b"], "bool field")
	assert.IsType(t, []string(nil), full["list"], "list field")

	assertRecordSet(t, cfg.Metric, want, scan(t, s, ns, index.Filter{}), "Scan after Upsert")
	ms := query(t, s, index.Query{Namespace: ns, Vector: want[0].Vector, TopK: len(want), IncludeVectors: true})
	require.Len(t, ms, len(want), "Query with TopK = every record")
	wantByID := byID(want)
	for _, m := range ms {
		w := wantByID[m.ID]
		assertVector(t, cfg.Metric, w.Vector, m.Vector, "Query match %q", m.ID)
		assertMetadata(t, w.Metadata, m.Metadata, "Query match %q", m.ID)
	}
	assert.Equal(t, len(want), count(t, s, ns), "Count")
}

func testMetadataNumberConversions(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	in := index.Metadata{"int": 7, "int32": int32(-3), "uint8": uint8(200), "float32": float32(1.5), "int16": int16(-300)}
	upsert(t, s, ns, rec("n", constVec(cfg.Dim, 1, 0.5), in))
	got := fetch(t, s, ns, "n")
	require.Len(t, got, 1)
	want := index.Metadata{"int": int64(7), "int32": int64(-3), "uint8": int64(200), "float32": 1.5, "int16": int64(-300)}
	assertMetadata(t, want, got[0].Metadata, "Go integer and float32 values are stored as numbers")
	// They filter as numbers, too.
	assert.Equal(t, []string{"n"}, recordIDs(scan(t, s, ns, index.And(index.Eq("int", 7.0), index.Gt("uint8", 199), index.Lt("int16", -299)))))
}

func testUpsertCopiesInput(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	vec := constVec(cfg.Dim, 1, 0.25)
	list := []string{"x", "y"}
	r := rec("a", vec, index.Metadata{"k": "v", "list": list})
	upsert(t, s, ns, r)
	want := rec("a", slices.Clone(vec), index.Metadata{"k": "v", "list": []string{"x", "y"}})

	// The caller may reuse its slices and maps once Upsert returns.
	vec[0], list[0] = 99, "changed"
	r.Metadata["k"] = "changed"
	r.Metadata["new"] = true
	got := fetch(t, s, ns, "a")
	require.Len(t, got, 1)
	assertRecord(t, cfg.Metric, want, got[0])

	// Nor does changing what the store returned change the store.
	got[0].Vector[0] = -99
	got[0].Metadata["k"] = "mutated"
	if l, ok := got[0].Metadata["list"].([]string); ok && len(l) > 0 {
		l[0] = "mutated"
	}
	ms := query(t, s, index.Query{Namespace: ns, Vector: want.Vector, TopK: 1, IncludeVectors: true})
	require.Len(t, ms, 1)
	ms[0].Vector[0] = -77
	ms[0].Metadata["k"] = "mutated"
	for r := range scanRecords(t, s, ns) {
		r.Vector[0] = -55
		r.Metadata["k"] = "mutated"
	}
	got = fetch(t, s, ns, "a")
	require.Len(t, got, 1)
	assertRecord(t, cfg.Metric, want, got[0])
}

// scanRecords yields the records of a Scan, failing the test on an error.
func scanRecords(t *testing.T, s index.VectorStore, ns string) func(func(index.Record) bool) {
	return func(yield func(index.Record) bool) {
		for r, err := range s.Scan(t.Context(), ns, index.Filter{}) {
			if !assert.NoError(t, err, "Scan") || !yield(r) {
				return
			}
		}
	}
}

func testUpsertEmptyBatch(t *testing.T, h *harness) {
	s, ns := h.store(t, defaultConfig()), h.ns()
	assert.NoError(t, s.Upsert(t.Context(), ns, nil), "Upsert of no records is a no-op")
	assert.NoError(t, s.Upsert(t.Context(), ns, []index.Record{}), "Upsert of an empty slice is a no-op")
	assert.Zero(t, count(t, s, ns))
}

func testOverwriteReplaces(t *testing.T, h *harness) {
	cfg := Config{Dim: 4, Metric: index.DotProduct}
	s, ns := h.store(t, cfg), h.ns()
	upsert(t, s, ns,
		rec("a", []float32{1, 0, 0, 0}, index.Metadata{"old": "x", "shared": int64(1), "list": []string{"p", "q"}}),
		rec("b", []float32{0, 1, 0, 0}, index.Metadata{"k": "b"}))
	newA := rec("a", []float32{0, 0, 2, 0}, index.Metadata{"shared": "now a string", "list": []string{"r"}, "added": true})
	upsert(t, s, ns, newA)

	got := fetch(t, s, ns, "a")
	require.Len(t, got, 1)
	assertRecord(t, cfg.Metric, newA, got[0]) // "old" is gone, not merged
	assert.Equal(t, 2, count(t, s, ns), "an overwrite does not add a record")

	ms := query(t, s, index.Query{Namespace: ns, Vector: []float32{0, 0, 1, 0}, TopK: 2})
	require.NotEmpty(t, ms)
	assert.Equal(t, "a", ms[0].ID, "Query scores the new vector")
	assertScore(t, 2, ms[0].Score, "Query scores the new vector")
	assertMetadata(t, newA.Metadata, ms[0].Metadata, "Query returns the new metadata")

	assert.Empty(t, recordIDs(scan(t, s, ns, index.Exists("old"))), "a key absent from the new metadata no longer matches")
	assert.Empty(t, recordIDs(scan(t, s, ns, index.Eq("shared", 1))), "the old value no longer matches")
	assert.Empty(t, recordIDs(scan(t, s, ns, index.Eq("list", "p"))), "the old list no longer matches")
	assert.Equal(t, []string{"a"}, recordIDs(scan(t, s, ns, index.Eq("list", "r"))), "the new list matches")
	assert.Equal(t, []string{"a"}, recordIDs(scan(t, s, ns, index.Eq("shared", "now a string"))), "a field may change type")
}

func testOverwriteClearsMetadata(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	v := constVec(cfg.Dim, 1, 0.5)
	upsert(t, s, ns, rec("a", v, index.Metadata{"k": "v", "n": int64(1)}))
	upsert(t, s, ns, rec("a", v, nil))
	got := fetch(t, s, ns, "a")
	require.Len(t, got, 1)
	assert.Empty(t, got[0].Metadata, "an overwrite with no metadata leaves none")
	assert.Empty(t, recordIDs(scan(t, s, ns, index.Exists("k"))), "the cleared field no longer matches")
}

func testNamespaceIsolation(t *testing.T, h *harness) {
	cfg := Config{Dim: 4, Metric: index.DotProduct}
	s := h.store(t, cfg)
	ns1, ns2 := h.ns("one"), h.ns("two")
	x1 := rec("x", []float32{1, 0, 0, 0}, index.Metadata{"ns": "one"})
	x2 := rec("x", []float32{0, 1, 0, 0}, index.Metadata{"ns": "two"})
	only1 := rec("only1", []float32{0, 0, 1, 0}, index.Metadata{"ns": "one"})
	upsert(t, s, ns1, x1, only1)
	upsert(t, s, ns2, x2)

	got := fetch(t, s, ns2, "x", "only1")
	require.Equal(t, []string{"x"}, recordIDs(got), "Fetch sees only its namespace")
	assertRecord(t, cfg.Metric, x2, got[0])
	ms := query(t, s, index.Query{Namespace: ns2, Vector: []float32{1, 1, 1, 1}, TopK: 10})
	assert.Equal(t, []string{"x"}, matchIDs(ms), "Query sees only its namespace")
	assertScore(t, 1, ms[0].Score)
	assertRecordSet(t, cfg.Metric, []index.Record{x2}, scan(t, s, ns2, index.Filter{}), "Scan sees only its namespace")
	assert.Empty(t, recordIDs(scan(t, s, ns2, index.Eq("ns", "one"))), "a filter does not reach into another namespace")

	require.NoError(t, s.Delete(t.Context(), ns1, []string{"x"}))
	assert.Empty(t, recordIDs(fetch(t, s, ns1, "x")), "deleted in its namespace")
	got = fetch(t, s, ns2, "x")
	require.Len(t, got, 1, "a Delete in one namespace leaves the same ID in another")
	assertRecord(t, cfg.Metric, x2, got[0])
	assert.Equal(t, 1, count(t, s, ns1))
	assert.Equal(t, 1, count(t, s, ns2))
}

func testDefaultNamespace(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s := h.store(t, cfg)
	// The default namespace may be shared with other runs of a remote store:
	// isolate by unique IDs and a marker field, and clean up.
	marker := h.ns()
	vecs := RandomVectors(3, 3, cfg.Dim)
	want := make([]index.Record, 3)
	for i := range want {
		want[i] = rec(fmt.Sprintf("%s-%d", marker, i), vecs[i], index.Metadata{"marker": marker, "n": int64(i)})
	}
	t.Cleanup(func() { _ = s.Delete(context.Background(), "", recordIDs(want)) })
	upsert(t, s, "", want...)

	got := fetch(t, s, "", recordIDs(want)...)
	require.Len(t, got, 3)
	for i := range want {
		assertRecord(t, cfg.Metric, want[i], got[i])
	}
	mine := index.Eq("marker", marker)
	ms := query(t, s, index.Query{Vector: vecs[0], TopK: 10, Filter: mine})
	assert.Equal(t, sorted(recordIDs(want)), sorted(matchIDs(ms)), "Query of the default namespace")
	assertRecordSet(t, cfg.Metric, want, scan(t, s, "", mine), "Scan of the default namespace")
	assert.Empty(t, recordIDs(fetch(t, s, h.ns("named"), recordIDs(want)...)), "the default namespace is not a named one")

	require.NoError(t, s.Delete(t.Context(), "", recordIDs(want[:1])))
	assert.Equal(t, sorted(recordIDs(want[1:])), sorted(recordIDs(scan(t, s, "", mine))), "Delete from the default namespace")
}

func testFetchMissingIDs(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	recs := RandomRecords(4, 3, cfg.Dim) // r00000, r00001, r00002
	upsert(t, s, ns, recs...)
	got := fetch(t, s, ns, "r00002", "missing", "r00000", "r00001", "also-missing")
	require.Equal(t, []string{"r00002", "r00000", "r00001"}, recordIDs(got),
		"Fetch leaves missing IDs out and keeps the order of the request")
	assertRecord(t, cfg.Metric, recs[2], got[0])
	assertRecord(t, cfg.Metric, recs[0], got[1])
	assertRecord(t, cfg.Metric, recs[1], got[2])
	assert.Empty(t, recordIDs(fetch(t, s, ns, "missing")), "only missing IDs")
	assert.Empty(t, recordIDs(fetch(t, s, ns)), "no IDs")
}

func testFetchMissingNamespace(t *testing.T, h *harness) {
	s := h.store(t, defaultConfig())
	upsert(t, s, h.ns("exists"), RandomRecords(5, 2, defaultDim)...)
	assert.Empty(t, recordIDs(fetch(t, s, h.ns("missing"), "r00000", "r00001")), "Fetch from a namespace that does not exist")
}

func testDelete(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	recs := RandomRecords(6, 10, cfg.Dim)
	upsert(t, s, ns, recs...)
	deleted := []string{"r00001", "r00004", "r00007"}
	require.NoError(t, s.Delete(t.Context(), ns, deleted))

	var kept []index.Record
	for _, r := range recs {
		if !slices.Contains(deleted, r.ID) {
			kept = append(kept, r)
		}
	}
	assert.Equal(t, recordIDs(kept), recordIDs(fetch(t, s, ns, recordIDs(recs)...)), "Fetch after Delete")
	ms := query(t, s, index.Query{Namespace: ns, Vector: recs[1].Vector, TopK: 10})
	assert.Equal(t, sorted(recordIDs(kept)), sorted(matchIDs(ms)), "Query after Delete")
	assertRecordSet(t, cfg.Metric, kept, scan(t, s, ns, index.Filter{}), "Scan after Delete")
	assert.Empty(t, recordIDs(scan(t, s, ns, index.In("i", 1, 4, 7))), "filtered Scan after Delete")
	assert.Equal(t, len(kept), count(t, s, ns), "Count after Delete")
}

func testDeleteMissingIDs(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	recs := RandomRecords(7, 3, cfg.Dim)
	upsert(t, s, ns, recs...)
	assert.NoError(t, s.Delete(t.Context(), ns, []string{"missing"}), "Delete of a missing ID")
	assert.NoError(t, s.Delete(t.Context(), ns, nil), "Delete of no IDs")
	assert.NoError(t, s.Delete(t.Context(), h.ns("missing"), []string{"r00000"}), "Delete in a missing namespace")
	assert.Equal(t, 3, count(t, s, ns), "nothing was deleted")
	assert.NoError(t, s.Delete(t.Context(), ns, []string{"missing", "r00001", "also-missing"}), "Delete of missing and present IDs")
	assert.Equal(t, []string{"r00000", "r00002"}, recordIDs(fetch(t, s, ns, recordIDs(recs)...)))
}

func testDeleteThenReinsert(t *testing.T, h *harness) {
	cfg := Config{Dim: 4, Metric: index.Euclidean}
	s, ns := h.store(t, cfg), h.ns()
	upsert(t, s, ns,
		rec("a", []float32{1, 0, 0, 0}, index.Metadata{"v": int64(1)}),
		rec("b", []float32{0, 5, 0, 0}, nil))
	require.NoError(t, s.Delete(t.Context(), ns, []string{"a"}))
	a2 := rec("a", []float32{0, 0, 3, 0}, index.Metadata{"v": int64(2)})
	upsert(t, s, ns, a2)

	got := fetch(t, s, ns, "a")
	require.Len(t, got, 1)
	assertRecord(t, cfg.Metric, a2, got[0])
	ms := query(t, s, index.Query{Namespace: ns, Vector: []float32{0, 0, 3, 0}, TopK: 2})
	require.Len(t, ms, 2)
	assert.Equal(t, "a", ms[0].ID)
	assertScore(t, 0, ms[0].Score, "the reinserted vector is the one searched")
	assert.Equal(t, []string{"a"}, recordIDs(scan(t, s, ns, index.Eq("v", 2))))
	assert.Equal(t, 2, count(t, s, ns))
}

func testScanCompleteness(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	recs := RandomRecords(8, 300, cfg.Dim)
	upsert(t, s, ns, recs...)
	assertRecordSet(t, cfg.Metric, recs, scan(t, s, ns, index.Filter{}), "Scan yields every record exactly once")
}

// scanFilters are applied to RandomRecords by ScanFilter; the expected
// records are those Filter.Match selects.
func scanFilters() []index.Filter {
	return []index.Filter{
		index.Eq("group", "beta"),
		index.And(index.Eq("even", true), index.Gte("score", 50)),
		index.Or(index.Exists("opt"), index.In("tags", "a")),
		index.NotIn("group", "alpha", "gamma"),
		index.And(index.Lt("i", 100), index.Ne("tags", "b"), index.Or(index.Gt("score", 90), index.Lte("score", 10))),
	}
}

func testScanFilter(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	recs := RandomRecords(9, 300, cfg.Dim)
	upsert(t, s, ns, recs...)
	for _, f := range scanFilters() {
		var want []index.Record
		for _, r := range recs {
			if f.Match(r.Metadata) {
				want = append(want, r)
			}
		}
		require.NotEmpty(t, want, "suite bug: filter %v selects nothing", f)
		require.Less(t, len(want), len(recs), "suite bug: filter %v selects everything", f)
		assertRecordSet(t, cfg.Metric, want, scan(t, s, ns, f), "Scan with filter %v", f)
	}
}

func testScanMissingNamespace(t *testing.T, h *harness) {
	s := h.store(t, defaultConfig())
	upsert(t, s, h.ns("exists"), RandomRecords(10, 2, defaultDim)...)
	n, err := scanErr(t.Context(), s, h.ns("missing"), index.Filter{})
	assert.NoError(t, err, "Scan of a namespace that does not exist")
	assert.Zero(t, n, "Scan of a namespace that does not exist")
	n, err = scanErr(t.Context(), s, h.ns("missing"), index.Eq("group", "alpha"))
	assert.NoError(t, err, "filtered Scan of a namespace that does not exist")
	assert.Zero(t, n)
}

func testScanBreakEarly(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	recs := RandomRecords(11, 50, cfg.Dim)
	upsert(t, s, ns, recs...)
	for _, stopAt := range []int{1, 5} {
		n := 0
		for _, err := range s.Scan(t.Context(), ns, index.Filter{}) {
			require.NoError(t, err)
			n++
			if n == stopAt {
				break // the store must stop yielding (the runtime panics otherwise) and release what it holds
			}
		}
		assert.Equal(t, stopAt, n)
	}
	// The store is still fully usable: a leaked lock would block these.
	extra := RandomRecords(12, 51, cfg.Dim)[50]
	extra.ID = "extra"
	upsert(t, s, ns, extra)
	require.NoError(t, s.Delete(t.Context(), ns, []string{"r00000"}))
	assertRecordSet(t, cfg.Metric, append(slices.Clone(recs[1:]), extra), scan(t, s, ns, index.Filter{}), "Scan after broken-off scans")
}
