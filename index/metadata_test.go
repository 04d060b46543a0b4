package index_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shoalhq/shoal/index/driver"

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
		can, err := driver.Canonical(in)
		if assert.NoError(t, err, "%#v", c.in) {
			assert.Equal(t, out, can, "%#v (%T)", c.in, c.in)
			same := reflect.ValueOf(can).UnsafePointer() == reflect.ValueOf(in).UnsafePointer()
			assert.Equal(t, reflect.TypeOf(c.in) == reflect.TypeOf(c.want), same, "%#v (%T): returned as is only when canonical", c.in, c.in)
		}
	}
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
			_, cerr := driver.Canonical(c.md)
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

func TestSentinelErrorsRefineInvalidArgument(t *testing.T) {
	t.Parallel()
	for _, err := range []error{index.ErrInvalidID, index.ErrInvalidVector, index.ErrInvalidMetadata, index.ErrInvalidFilter, index.ErrDimension} {
		assert.ErrorIs(t, err, index.ErrInvalidArgument, "%v", err)
	}
	for _, err := range []error{index.ErrNotFound, index.ErrClosed, index.ErrCorrupt, index.ErrUnauthenticated, index.ErrUnavailable, index.ErrResourceExhausted} {
		assert.False(t, errors.Is(err, index.ErrInvalidArgument), "%v", err)
	}
}
