package index_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

func TestMetadataNormalizeAccepts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, want any
	}{
		{"x", "x"},
		{"", ""},
		{"ñandú 🐟", "ñandú 🐟"},
		{true, true},
		{false, false},
		{int64(-5), int64(-5)},
		{int64(math.MaxInt64), int64(math.MaxInt64)},
		{int(7), int64(7)},
		{int32(-7), int64(-7)},
		{int16(300), int64(300)},
		{int8(-8), int64(-8)},
		{uint32(math.MaxUint32), int64(math.MaxUint32)},
		{uint16(65535), int64(65535)},
		{uint8(255), int64(255)},
		{2.5, 2.5},
		{math.Copysign(0, -1), math.Copysign(0, -1)},
		{math.MaxFloat64, math.MaxFloat64},
		{float32(0.25), 0.25},
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{}, []string{}},
	} {
		in := index.Metadata{"k": c.in}
		out, err := in.Normalize()
		if assert.NoError(t, err, "%#v", c.in) {
			assert.Equal(t, c.want, out["k"], "%#v (%T)", c.in, c.in)
			assert.IsType(t, c.want, out["k"])
		}
		// Canonical agrees, and hands back canonical metadata itself.
		can, err := in.Canonical()
		if assert.NoError(t, err, "%#v", c.in) {
			assert.Equal(t, out, can, "%#v (%T)", c.in, c.in)
			same := reflect.ValueOf(can).UnsafePointer() == reflect.ValueOf(in).UnsafePointer()
			assert.Equal(t, reflect.TypeOf(c.in) == reflect.TypeOf(c.want), same, "%#v (%T): returned as is only when canonical", c.in, c.in)
		}
	}
}

func TestMetadataCanonicalDoesNotAllocate(t *testing.T) {
	md := index.Metadata{"s": "x", "b": true, "i": int64(3), "f": 2.5, "l": []string{"a", "b"}}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := md.Canonical(); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	got, err := index.Metadata(nil).Canonical()
	assert.NoError(t, err)
	assert.Nil(t, got)
}

func TestMetadataNormalizeRejects(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		md      index.Metadata
		mention string
	}{
		{"nil value", index.Metadata{"k": nil}, "nil value"},
		{"uint64", index.Metadata{"k": uint64(1)}, "uint64"},
		{"uint", index.Metadata{"k": uint(1)}, "uint"},
		{"complex", index.Metadata{"k": complex(1, 2)}, "complex128"},
		{"struct", index.Metadata{"k": struct{ X int }{1}}, "struct"},
		{"time", index.Metadata{"k": time.Unix(0, 0)}, "time.Time"},
		{"map", index.Metadata{"k": map[string]any{"a": 1}}, "map"},
		{"[]int", index.Metadata{"k": []int{1}}, "[]int"},
		{"[]any", index.Metadata{"k": []any{"a"}}, "[]interface {}"},
		{"[]float64", index.Metadata{"k": []float64{1}}, "[]float64"},
		{"pointer", index.Metadata{"k": new(string)}, "*string"},
		{"NaN", index.Metadata{"k": math.NaN()}, "not finite"},
		{"+Inf", index.Metadata{"k": math.Inf(1)}, "not finite"},
		{"float32 -Inf", index.Metadata{"k": float32(math.Inf(-1))}, "not finite"},
		{"bad UTF-8 string", index.Metadata{"k": "a\xffb"}, "UTF-8"},
		{"bad UTF-8 list element", index.Metadata{"k": []string{"ok", "a\xff"}}, "list element 1"},
		{"empty key", index.Metadata{"": "x"}, `key ""`},
		{"dollar key", index.Metadata{"$and": "x"}, `key "$and"`},
		{"bad UTF-8 key", index.Metadata{"a\xff": "x"}, "UTF-8"},
		{"too large", index.Metadata{"k": strings.Repeat("x", index.MaxMetadataBytes)}, "bytes"},
		{"too large list", index.Metadata{"k": make([]string, index.MaxMetadataBytes/3)}, "bytes"},
		{"first bad key in sorted order", index.Metadata{"b": uint64(1), "a": nil, "c": "ok"}, `key "a"`},
	} {
		out, err := c.md.Normalize()
		if assert.ErrorIs(t, err, index.ErrInvalidMetadata, c.name) {
			assert.ErrorIs(t, err, index.ErrInvalidArgument, c.name)
			assert.Contains(t, err.Error(), c.mention, c.name)
			_, cerr := c.md.Canonical()
			assert.EqualError(t, cerr, err.Error(), "Canonical reports what Normalize does: "+c.name)
		}
		assert.Nil(t, out, c.name)
	}
}

func TestMetadataNormalizeCopies(t *testing.T) {
	t.Parallel()
	list := []string{"a", "b"}
	in := index.Metadata{"list": list, "n": 3}
	out, err := in.Normalize()
	require.NoError(t, err)
	list[0] = "changed"
	assert.Equal(t, []string{"a", "b"}, out["list"], "the list is copied")
	assert.Equal(t, 3, in["n"], "the input is left as it was")

	out, err = index.Metadata(nil).Normalize()
	assert.NoError(t, err)
	assert.Nil(t, out)
	out, err = index.Metadata{}.Normalize()
	assert.NoError(t, err)
	assert.NotNil(t, out)
	assert.Empty(t, out)

	// Just under the size limit is fine.
	key := "k"
	fits := index.Metadata{key: strings.Repeat("x", index.MaxMetadataBytes-2-len(key)-4-2)}
	require.Equal(t, index.MaxMetadataBytes, fits.Size())
	_, err = fits.Normalize()
	assert.NoError(t, err)
}

func TestMetadataAccessors(t *testing.T) {
	t.Parallel()
	md := index.Metadata{"i": int64(3), "f": 2.5, "int": 4, "f32": float32(0.5), "i32": int32(-1), "s": "x", "b": true, "l": []string{"a"}}
	for key, want := range map[string]float64{"i": 3, "f": 2.5, "int": 4, "f32": 0.5, "i32": -1} {
		n, ok := md.Number(key)
		assert.True(t, ok, key)
		assert.Equal(t, want, n, key)
	}
	for _, key := range []string{"s", "b", "l", "missing"} {
		_, ok := md.Number(key)
		assert.False(t, ok, key)
	}
	s, ok := md.String("s")
	assert.True(t, ok)
	assert.Equal(t, "x", s)
	_, ok = md.String("i")
	assert.False(t, ok)
	_, ok = index.Metadata(nil).String("s")
	assert.False(t, ok)
}

func TestMetadataClone(t *testing.T) {
	t.Parallel()
	assert.Nil(t, index.Metadata(nil).Clone())
	md := index.Metadata{"l": []string{"a", "b"}, "n": int64(1)}
	c := md.Clone()
	assert.Equal(t, md, c)
	c["l"].([]string)[0] = "changed"
	c["n"] = int64(2)
	assert.Equal(t, index.Metadata{"l": []string{"a", "b"}, "n": int64(1)}, md, "a deep copy")
}

func TestMetadataSize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		md   index.Metadata
		want int
	}{
		{nil, 2},
		{index.Metadata{}, 2},
		{index.Metadata{"ab": "xyz"}, 2 + 2 + 4 + 3 + 2},
		{index.Metadata{"k": int64(1)}, 2 + 1 + 4 + 24},
		{index.Metadata{"k": []string{"a", "bc"}}, 2 + 1 + 4 + 2 + (1 + 3) + (2 + 3)},
	} {
		assert.Equal(t, c.want, c.md.Size(), "%v", c.md)
	}
}

func TestValidateID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"a", "ñandú/🐟 #1", strings.Repeat("x", index.MaxIDLength)} {
		assert.NoError(t, index.ValidateID(id), "%q", id)
	}
	for _, c := range []struct{ id, mention string }{
		{"", "empty"},
		{strings.Repeat("x", index.MaxIDLength+1), "513 bytes"},
		{"a\xff", "UTF-8"},
		{"a\x00b", "NUL"},
	} {
		err := index.ValidateID(c.id)
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
		err := index.ValidateVector(c.v, c.dim)
		if c.want == nil {
			assert.NoError(t, err, c.name)
			continue
		}
		assert.ErrorIs(t, err, c.want, c.name)
		assert.ErrorIs(t, err, index.ErrInvalidArgument, c.name)
	}
	assert.ErrorContains(t, index.ValidateVector([]float32{1, 2, float32(math.NaN())}, 0), "element 2")
	assert.ErrorContains(t, index.ValidateVector([]float32{1}, 2), "got 1, want 2")
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
		out, err := index.ValidateRecords(in, 2)
		require.NoError(t, err)
		require.Len(t, out, 2)
		assert.Equal(t, index.Metadata{"n": int64(3), "l": []string{"x"}}, out[0].Metadata, "metadata normalised")
		assert.Nil(t, out[1].Metadata)
		in[0].Vector[0] = 99
		in[0].Metadata["l"].([]string)[0] = "changed"
		assert.Equal(t, []float32{1, 2}, out[0].Vector, "vectors are copied")
		assert.Equal(t, []string{"x"}, out[0].Metadata["l"], "metadata is copied")
		out, err = index.ValidateRecords(nil, 0)
		assert.NoError(t, err)
		assert.Empty(t, out)
		mds, err := index.CheckRecords(in, 2)
		assert.NoError(t, err)
		assert.Equal(t, []index.Metadata{{"n": int64(3), "l": []string{"changed"}}, nil}, mds, "metadata in canonical form (int became int64)")
		_, err = index.CheckRecords(nil, 0)
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
			out, err := index.ValidateRecords(c.recs, c.dim)
			assert.Nil(t, out)
			require.ErrorIs(t, err, c.want)
			var ie *index.ItemError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, c.idx, ie.Index)
			assert.Equal(t, c.id, ie.ID)
			_, cerr := index.CheckRecords(c.recs, c.dim)
			assert.EqualError(t, cerr, err.Error(), "CheckRecords reports the same")
		})
	}
}

func TestValidateQuery(t *testing.T) {
	t.Parallel()
	q := index.Query{Vector: []float32{1, 2}, TopK: 1}
	require.NoError(t, index.ValidateQuery(q, 2))
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
		err := index.ValidateQuery(qq, c.dim)
		if c.want == nil {
			assert.NoError(t, err, c.name)
		} else {
			assert.ErrorIs(t, err, c.want, c.name)
		}
	}
}

func TestSentinelErrorsRefineInvalidArgument(t *testing.T) {
	t.Parallel()
	for _, err := range []error{index.ErrInvalidID, index.ErrInvalidVector, index.ErrInvalidMetadata, index.ErrInvalidFilter, index.ErrDimension} {
		assert.ErrorIs(t, err, index.ErrInvalidArgument, "%v", err)
	}
	for _, err := range []error{index.ErrNotFound, index.ErrClosed, index.ErrCorrupt, index.ErrUnauthenticated, index.ErrUnavailable, index.ErrResourceExhausted} {
		assert.False(t, errors.Is(err, index.ErrInvalidArgument), "%v", err)
	}
}

func TestValidateNamespace(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "ns", "shoal-local-image/v1 side=28 gray dim=784", "名前"} {
		assert.NoError(t, index.ValidateNamespace(ok), ok)
	}
	for ns, reason := range map[string]string{
		strings.Repeat("n", index.MaxIDLength+1): "more than",
		"bad\xff":                                "not valid UTF-8",
		"nul\x00":                                "NUL",
	} {
		err := index.ValidateNamespace(ns)
		assert.ErrorIs(t, err, index.ErrInvalidArgument)
		assert.ErrorContains(t, err, reason)
	}
}
