package indextest

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

// filterFixture is the data every Filter case runs on. Expected results are
// written by hand from this table:
//
//	id  color   size       weight  ok     tags    label
//	a   red     1          0.5     true   [x y]
//	b   blue    2          1.5     false  [y]
//	c   red     3          2.5                    "3"
//	d   green   3.0 (f64)          true
//	e           10         -1      false  [z x]
//	f   blue                              [w]     3
//	g   (no metadata)
func filterFixture() []index.Record {
	return []index.Record{
		rec("a", []float32{1, 0, 0, 0}, index.Metadata{"color": "red", "size": int64(1), "weight": 0.5, "ok": true, "tags": []string{"x", "y"}}),
		rec("b", []float32{0, 1, 0, 0}, index.Metadata{"color": "blue", "size": int64(2), "weight": 1.5, "ok": false, "tags": []string{"y"}}),
		rec("c", []float32{0, 0, 1, 0}, index.Metadata{"color": "red", "size": int64(3), "weight": 2.5, "label": "3"}),
		rec("d", []float32{0, 0, 0, 1}, index.Metadata{"color": "green", "size": 3.0, "ok": true}),
		rec("e", []float32{1, 1, 0, 0}, index.Metadata{"size": int64(10), "weight": -1.0, "ok": false, "tags": []string{"z", "x"}}),
		rec("f", []float32{0, 1, 1, 0}, index.Metadata{"color": "blue", "label": int64(3), "tags": []string{"w"}}),
		rec("g", []float32{0, 0, 1, 1}, nil),
	}
}

type filterRow struct {
	f    index.Filter
	want []string // sorted
}

func row(f index.Filter, want ...string) filterRow { return filterRow{f, want} }

func filterCases() []testCase {
	return []testCase{
		filterCase("FilterEq",
			row(index.Eq("color", "red"), "a", "c"),
			row(index.Eq("color", "purple")),
			row(index.Eq("ok", true), "a", "d"),
			row(index.Eq("ok", false), "b", "e"),
			row(index.Eq("size", 2), "b"),
			row(index.Eq("weight", 1.5), "b"),
		),
		filterCase("FilterNe",
			row(index.Ne("color", "red"), "b", "d", "f"), // e and g have no color
			row(index.Ne("ok", true), "b", "e"),
			row(index.Ne("size", 3), "a", "b", "e"),
		),
		filterCase("FilterIn",
			row(index.In("color", "red", "green"), "a", "c", "d"),
			row(index.In("size", 1, 10.0), "a", "e"),
			row(index.In("color", "purple", "orange")),
			row(index.In("label", "3", "nope"), "c"),
		),
		filterCase("FilterNotIn",
			row(index.NotIn("color", "red", "green"), "b", "f"),
			row(index.NotIn("size", 1, 2), "c", "d", "e"),
			row(index.NotIn("color", "purple"), "a", "b", "c", "d", "f"),
		),
		filterCase("FilterGt",
			row(index.Gt("size", 2), "c", "d", "e"),
			row(index.Gt("size", 2.5), "c", "d", "e"),
			row(index.Gt("weight", -1), "a", "b", "c"),
			row(index.Gt("size", 10)),
		),
		filterCase("FilterGte",
			row(index.Gte("size", 3), "c", "d", "e"),
			row(index.Gte("size", 2), "b", "c", "d", "e"),
			row(index.Gte("weight", 2.5), "c"),
		),
		filterCase("FilterLt",
			row(index.Lt("weight", 1.5), "a", "e"),
			row(index.Lt("weight", 0.5), "e"),
			row(index.Lt("size", 1)),
		),
		filterCase("FilterLte",
			row(index.Lte("weight", 1.5), "a", "b", "e"),
			row(index.Lte("size", 1), "a"),
			row(index.Lte("size", 3.0), "a", "b", "c", "d"),
		),
		filterCase("FilterExists",
			row(index.Exists("color"), "a", "b", "c", "d", "f"),
			row(index.Exists("tags"), "a", "b", "e", "f"),
			row(index.Exists("label"), "c", "f"),
			row(index.Exists("nope")),
		),
		filterCase("FilterAnd",
			row(index.And(index.Eq("color", "red"), index.Gt("size", 1)), "c"),
			row(index.And(index.Exists("ok"), index.Ne("ok", true)), "b", "e"),
			row(index.And(index.Eq("color", "blue")), "b", "f"),
			row(index.And(index.Eq("color", "red"), index.Eq("color", "blue"))),
			row(index.And(index.Gte("size", 1), index.Lte("size", 3), index.Ne("color", "green")), "a", "b", "c"),
		),
		filterCase("FilterOr",
			row(index.Or(index.Eq("color", "green"), index.Lt("weight", 0)), "d", "e"),
			row(index.Or(index.Eq("label", "3"), index.Eq("label", 3)), "c", "f"),
			row(index.Or(index.Exists("nope"), index.Eq("color", "green")), "d"),
			row(index.Or(index.Exists("nope"))),
		),
		filterCase("FilterNested",
			row(index.And(
				index.Or(index.Eq("color", "red"), index.Eq("ok", false)),
				index.Or(index.Lt("size", 3), index.Exists("tags"))), "a", "b", "e"),
			row(index.Or(
				index.And(index.Eq("color", "red"), index.Exists("label")),
				index.And(index.In("tags", "z", "w"), index.NotIn("color", "blue"))), "c"),
			row(index.And(index.Or(index.And(index.Or(index.Gt("size", 0))))), "a", "b", "c", "d", "e"),
		),
		filterCase("FilterNumberTypes",
			row(index.Eq("size", 3), "c", "d"),   // int64 3 and float64 3.0
			row(index.Eq("size", 3.0), "c", "d"), // either way round
			row(index.Eq("size", int64(1)), "a"),
			row(index.In("size", 3), "c", "d"),
			row(index.Ne("size", 3.0), "a", "b", "e"),
			row(index.NotIn("size", int64(3), 10), "a", "b"),
			row(index.Gte("size", 3.0), "c", "d", "e"),
			row(index.Lte("size", int64(3)), "a", "b", "c", "d"),
		),
		filterCase("FilterStringNeverNumber",
			row(index.Eq("label", 3), "f"),   // not c's "3"
			row(index.Eq("label", "3"), "c"), // not f's 3
			row(index.Eq("size", "3")),
			row(index.In("size", "1", "2", "3")),
			row(index.Ne("label", 3), "c"),
			row(index.Ne("label", "3"), "f"),
			row(index.Eq("ok", "true")),
			row(index.Eq("ok", 1)),
			row(index.Eq("size", true)),
			row(index.Gt("label", 2), "f"),
		),
		filterCase("FilterListFields",
			row(index.Eq("tags", "x"), "a", "e"),
			row(index.Eq("tags", "y"), "a", "b"),
			row(index.Ne("tags", "x"), "b", "f"),
			row(index.In("tags", "y", "w"), "a", "b", "f"),
			row(index.NotIn("tags", "x", "w"), "b"),
			row(index.Eq("tags", 1)),
			row(index.Exists("tags"), "a", "b", "e", "f"),
		),
		filterCase("FilterRangeOnNonNumbers",
			row(index.Gt("color", 0)),
			row(index.Lt("color", 1e9)),
			row(index.Gte("tags", -1e9)),
			row(index.Lte("ok", 1)),
			row(index.Gte("ok", 0)),
		),
		filterCase("FilterMissingField",
			row(index.Eq("nope", "x")),
			row(index.Ne("nope", "x")),
			row(index.In("nope", "x", 1)),
			row(index.NotIn("nope", "x", 1)),
			row(index.Gt("nope", -1e9)),
			row(index.Lte("nope", 1e9)),
			row(index.Ne("weight", 99), "a", "b", "c", "e"), // d, f, g lack weight
			row(index.NotIn("label", "nope"), "c", "f"),
			row(index.Ne("ok", "x"), "a", "b", "d", "e"),
		),
		{"FilterInvalid", testFilterInvalid},
	}
}

func filterCase(name string, rows ...filterRow) testCase {
	return testCase{name, func(t *testing.T, h *harness) {
		s, ns := h.filterStore(t)
		for _, r := range rows {
			checkFilter(t, s, ns, r.f, r.want)
		}
	}}
}

// filterStore returns a store whose namespace holds filterFixture.
func (h *harness) filterStore(t *testing.T) (index.VectorStore, string) {
	t.Helper()
	s, ns := h.store(t, Config{Dim: 4, Metric: index.DotProduct}), h.ns()
	upsert(t, s, ns, filterFixture()...)
	return s, ns
}

// checkFilter checks that Scan and Query select exactly want with f.
func checkFilter(t *testing.T, s index.VectorStore, ns string, f index.Filter, want []string) {
	t.Helper()
	require.NoError(t, f.Validate(), "suite bug: invalid filter %v", f)
	if want == nil {
		want = []string{}
	}
	recs := scan(t, s, ns, f)
	assertUniqueIDs(t, recordIDs(recs), "Scan with filter %v", f)
	assert.Equal(t, want, sorted(recordIDs(recs)), "Scan with filter %v", f)
	ms := query(t, s, index.Query{Namespace: ns, Vector: []float32{1, 1, 1, 1}, TopK: 10, Filter: f})
	assert.Equal(t, want, sorted(matchIDs(ms)), "Query with filter %v", f)
}

// invalidFilters are rejected by Filter.Validate, and so by every store.
func invalidFilters() []index.Filter {
	deep := index.Eq("color", "red")
	for range index.MaxFilterDepth + 1 {
		deep = index.Filter{Op: index.OpAnd, Filters: []index.Filter{deep}} // And(f) is f
	}
	return []index.Filter{
		{Op: index.OpEq, Value: "x"}, // no field
		index.Eq("$color", "red"),
		index.Eq("color", []string{"red"}),
		index.Eq("color", nil),
		index.Eq("weight", math.NaN()),
		index.Eq("color", struct{}{}),
		index.In("color"),
		index.In("color", true),
		index.NotIn("color", []string{"a"}),
		index.Gt("size", "3"),
		index.Lte("size", true),
		index.Gte("weight", math.Inf(1)),
		{Op: index.OpAnd}, // And() is the zero Filter; a literal And needs operands
		index.Or(),
		{Op: index.OpAnd, Filters: []index.Filter{{}}},
		index.Or(index.Eq("color", "red"), index.In("size")),
		{Op: index.Op(99), Field: "color", Value: "red"},
		deep,
	}
}

func testFilterInvalid(t *testing.T, h *harness) {
	s, ns := h.filterStore(t)
	for _, f := range invalidFilters() {
		require.Error(t, f.Validate(), "suite bug: filter %v is valid", f)
		ms, err := s.Query(t.Context(), index.Query{Namespace: ns, Vector: []float32{1, 1, 1, 1}, TopK: 10, Filter: f})
		assert.ErrorIs(t, err, index.ErrInvalidFilter, "Query with filter %v", f)
		assert.Empty(t, ms, "Query with filter %v", f)
		n, err := scanErr(t.Context(), s, ns, f)
		assert.ErrorIs(t, err, index.ErrInvalidFilter, "Scan with filter %v", f)
		assert.Zero(t, n, "Scan with filter %v yielded records before the error", f)
	}
}
