package indextest

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

func validationCases() []testCase {
	return []testCase{
		{"BadArguments", testBadArguments},
		{"DimensionMismatchInBatch", testDimensionMismatchInBatch},
		{"DimensionMismatchWithNamespace", testDimensionMismatchWithNamespace},
		{"InvalidVectorValues", testInvalidVectorValues},
		{"EmptyVector", testEmptyVector},
		{"CosineZeroVector", testCosineZeroVector},
		{"InvalidID", testInvalidID},
		{"IDLimits", testIDLimits},
		{"DuplicateIDsInCall", testDuplicateIDsInCall},
		{"InvalidMetadataTypes", testInvalidMetadataTypes},
		{"InvalidMetadataKeys", testInvalidMetadataKeys},
	}
}

// rejectBatch upserts a batch whose record bad is invalid and checks the
// error (sentinel, *ItemError naming it) and that nothing of the batch, nor
// an overwrite of an existing record, was written.
func rejectBatch(t *testing.T, s index.VectorStore, ns string, batch []index.Record, bad int, sentinel error) {
	t.Helper()
	err := s.Upsert(t.Context(), ns, batch)
	requireItemError(t, err, sentinel, bad, batch[bad].ID)
	var fresh []string
	for _, r := range batch {
		if !strings.HasPrefix(r.ID, "existing") {
			fresh = append(fresh, r.ID)
		}
	}
	assertAbsent(t, s, ns, fresh...)
}

// existing is a record written before a bad batch that overwrites it; the
// batch must leave it as it was.
func existing(dim int) index.Record {
	return rec("existing", constVec(dim, 1, 0.5), index.Metadata{"v": "before"})
}

func assertUnchanged(t *testing.T, s index.VectorStore, ns string, m index.Metric, want index.Record) {
	t.Helper()
	got := fetch(t, s, ns, want.ID)
	if assert.Len(t, got, 1, "record %q written before the bad batch", want.ID) {
		assertRecord(t, m, want, got[0])
	}
}

func testDimensionMismatchInBatch(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	vecs := RandomVectors(30, 3, cfg.Dim)
	batch := []index.Record{rec("a", vecs[0], nil), rec("b", vecs[1], nil), rec("c", append(vecs[2], 0.5), nil)}
	rejectBatch(t, s, ns, batch, 2, index.ErrDimension)
	assert.Zero(t, count(t, s, ns), "nothing written into a new namespace")
	// The namespace is still free to take vectors of cfg.Dim.
	upsert(t, s, ns, batch[:2]...)
	assert.Equal(t, 2, count(t, s, ns))
}

func testDimensionMismatchWithNamespace(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	old := existing(cfg.Dim)
	upsert(t, s, ns, old)
	longer := RandomVectors(31, 2, cfg.Dim+1)
	// Consistent within the batch, inconsistent with the namespace.
	rejectBatch(t, s, ns, []index.Record{rec("n0", longer[0], nil), rec("n1", longer[1], nil)}, 0, index.ErrDimension)
	// A good record, then a short one, then an overwrite of existing.
	overwrite := rec("existing", constVec(cfg.Dim, 9, 9), index.Metadata{"v": "after"})
	rejectBatch(t, s, ns, []index.Record{
		rec("n0", constVec(cfg.Dim, 1, 0), nil),
		rec("n1", constVec(cfg.Dim-1, 1, 0), nil),
		overwrite,
	}, 1, index.ErrDimension)
	assertUnchanged(t, s, ns, cfg.Metric, old)
	assert.Equal(t, 1, count(t, s, ns))
}

func testInvalidVectorValues(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	old := existing(cfg.Dim)
	upsert(t, s, ns, old)
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		bad := constVec(cfg.Dim, 1, 0.5)
		bad[3] = float32(x)
		rejectBatch(t, s, ns, []index.Record{
			rec("good", constVec(cfg.Dim, 1, 0), nil),
			rec("existing", constVec(cfg.Dim, 2, 2), nil),
			rec("bad", bad, nil),
		}, 2, index.ErrInvalidVector)
	}
	assertUnchanged(t, s, ns, cfg.Metric, old)
}

func testEmptyVector(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	for _, v := range [][]float32{nil, {}} {
		rejectBatch(t, s, ns, []index.Record{rec("good", constVec(cfg.Dim, 1, 0), nil), rec("empty", v, nil)}, 1, index.ErrInvalidVector)
		rejectBatch(t, s, ns, []index.Record{rec("empty", v, nil), rec("good", constVec(cfg.Dim, 1, 0), nil)}, 0, index.ErrInvalidVector)
	}
	assert.Zero(t, count(t, s, ns))
}

func testCosineZeroVector(t *testing.T, h *harness) {
	cfg := Config{Dim: defaultDim, Metric: index.Cosine}
	s, ns := h.store(t, cfg), h.ns()
	old := existing(cfg.Dim)
	upsert(t, s, ns, old)
	rejectBatch(t, s, ns, []index.Record{
		rec("good", constVec(cfg.Dim, 1, 0), nil),
		rec("zero", make([]float32, cfg.Dim), nil),
	}, 1, index.ErrInvalidVector)
	assertUnchanged(t, s, ns, cfg.Metric, old)
}

func testInvalidID(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	for _, id := range []string{"", strings.Repeat("x", index.MaxIDLength+1), "nul\x00byte", "bad\xffutf8"} {
		rejectBatch(t, s, ns, []index.Record{
			rec("good", constVec(cfg.Dim, 1, 0), nil),
			rec(id, constVec(cfg.Dim, 0, 1), nil),
		}, 1, index.ErrInvalidID)
	}
	assert.Zero(t, count(t, s, ns))
}

func testIDLimits(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	long := strings.Repeat("x", index.MaxIDLength-len("🐟")) + "🐟" // exactly MaxIDLength bytes
	recs := []index.Record{
		rec(long, constVec(cfg.Dim, 1, 0), nil),
		rec("ñandú/🐟 with spaces:and#punctuation", constVec(cfg.Dim, 0, 1), nil),
		rec("x", constVec(cfg.Dim, 1, 1), nil),
	}
	upsert(t, s, ns, recs...)
	got := fetch(t, s, ns, recordIDs(recs)...)
	assert.Equal(t, recordIDs(recs), recordIDs(got), "IDs up to MaxIDLength bytes of any UTF-8 round-trip")
	assert.ElementsMatch(t, recordIDs(recs), recordIDs(scan(t, s, ns, index.Filter{})))
	require.NoError(t, s.Delete(t.Context(), ns, []string{long}))
	assert.Equal(t, 2, count(t, s, ns))
}

func testDuplicateIDsInCall(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	vecs := RandomVectors(32, 3, cfg.Dim)
	rejectBatch(t, s, ns, []index.Record{rec("a", vecs[0], nil), rec("b", vecs[1], nil), rec("a", vecs[2], nil)}, 2, index.ErrInvalidID)
	assert.Zero(t, count(t, s, ns))
}

func testInvalidMetadataTypes(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	old := existing(cfg.Dim)
	upsert(t, s, ns, old)
	for _, v := range []any{
		struct{ X int }{1},
		map[string]any{"x": 1},
		[]int{1, 2},
		[]any{"x"},
		[]float64{1.5},
		nil,
		uint64(1),
		complex(1, 2),
		time.Unix(0, 0),
		math.NaN(),
		math.Inf(-1),
		"bad\xffutf8",
		[]string{"ok", "bad\xff"},
	} {
		rejectBatch(t, s, ns, []index.Record{
			rec("existing", constVec(cfg.Dim, 3, 3), index.Metadata{"v": "after"}),
			rec("bad", constVec(cfg.Dim, 1, 0), index.Metadata{"fine": "x", "field": v}),
		}, 1, index.ErrInvalidMetadata)
	}
	assertUnchanged(t, s, ns, cfg.Metric, old)
}

func testInvalidMetadataKeys(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	for _, md := range []index.Metadata{
		{"$op": "x"},
		{"": "x"},
		{"bad\xffkey": "x"},
		{"big": strings.Repeat("x", index.MaxMetadataBytes)},
	} {
		rejectBatch(t, s, ns, []index.Record{
			rec("good", constVec(cfg.Dim, 1, 0), index.Metadata{"k": "v"}),
			rec("bad", constVec(cfg.Dim, 0, 1), md),
		}, 1, index.ErrInvalidMetadata)
	}
	assert.Zero(t, count(t, s, ns))
}
