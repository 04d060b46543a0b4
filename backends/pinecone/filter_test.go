package pinecone

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/index"
)

func filterJSON(t *testing.T, f index.Filter) string {
	t.Helper()
	s, err := translateFilter(f)
	require.NoError(t, err)
	if s == nil {
		return "null"
	}
	b, err := protojson.Marshal(s)
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	out, _ := json.Marshal(v) // canonical key order
	return string(out)
}

func TestTranslateFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    index.Filter
		want string
	}{
		{index.Filter{}, `null`},
		{index.Eq("c", "red"), `{"c":{"$eq":"red"}}`},
		{index.Eq("n", 3), `{"n":{"$eq":3}}`},
		{index.Eq("b", true), `{"b":{"$eq":true}}`},
		{index.Ne("c", "red"), `{"$and":[{"c":{"$exists":true}},{"c":{"$ne":"red"}}]}`},
		{index.In("c", "a", "b"), `{"c":{"$in":["a","b"]}}`},
		{index.In("n", int64(3), 3.0), `{"n":{"$in":[3]}}`},
		{index.NotIn("n", 1, 2.5), `{"$and":[{"n":{"$exists":true}},{"n":{"$nin":[1,2.5]}}]}`},
		{index.Gt("n", 1), `{"n":{"$gt":1}}`},
		{index.Gte("n", 1.5), `{"n":{"$gte":1.5}}`},
		{index.Lt("n", -1), `{"n":{"$lt":-1}}`},
		{index.Lte("n", 0), `{"n":{"$lte":0}}`},
		{index.Exists("x"), `{"x":{"$exists":true}}`},
		{index.And(index.Eq("a", "x"), index.Or(index.Gt("n", 1), index.Exists("z"))), `{"$and":[{"a":{"$eq":"x"}},{"$or":[{"n":{"$gt":1}},{"z":{"$exists":true}}]}]}`},
	}
	for _, tc := range tests {
		assert.JSONEq(t, tc.want, filterJSON(t, tc.f), "%v", tc.f)
	}
}

func TestTranslateFilterErrors(t *testing.T) {
	t.Parallel()
	for _, f := range []index.Filter{
		{Op: index.OpEq, Field: "x", Value: []int{1}},
		{Op: index.OpGt, Field: "x", Value: "a"},
		{Op: index.OpIn, Field: "x"},
		{Op: index.OpAnd},
		{Op: index.Op(99), Field: "x"},
		index.Eq("n", int64(1)<<60),
		{Op: index.OpEq, Field: "$bad", Value: "v"},
	} {
		_, err := translateFilter(f)
		assert.ErrorIs(t, err, index.ErrInvalidFilter, "%v", f)
	}
}

// onWire is md as the server decodes it: converted as the Store sends it
// (toStruct), marshalled and unmarshalled with the generated code.
func onWire(md index.Metadata) (*structpb.Struct, error) {
	st, err := toStruct(md)
	if err != nil || st == nil {
		return &structpb.Struct{}, err
	}
	b, err := proto.Marshal(st)
	if err != nil {
		return nil, err
	}
	out := &structpb.Struct{}
	return out, proto.Unmarshal(b, out)
}

// referenceStruct is md as structpb builds it (numbers as doubles, lists as
// lists of strings): what toStruct's conversion must decode to.
func referenceStruct(t testing.TB, md index.Metadata) *structpb.Struct {
	m := make(map[string]any, len(md))
	for k, v := range md {
		switch x := v.(type) {
		case int64:
			m[k] = float64(x)
		case []string:
			l := make([]any, len(x))
			for i, s := range x {
				l[i] = s
			}
			m[k] = l
		default:
			m[k] = v
		}
	}
	st, err := structpb.NewStruct(m)
	require.NoError(t, err)
	return st
}

// wire turns metadata into what Pinecone stores (numbers as float64).
func wire(t testing.TB, md index.Metadata) index.Metadata {
	s, err := onWire(md)
	if err != nil {
		t.Fatal(err)
	}
	out, err := fromPineconeMetadata(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var sampleMetadata = []index.Metadata{
	nil,
	{"c": "red", "n": int64(3), "b": true, "tags": []string{"x", "y"}},
	{"c": "blue", "n": 3.0, "b": false, "tags": []string{}},
	{"c": "3", "n": -1.5, "tags": []string{"red"}},
	{"n": "3", "b": "true"},
	{"tags": "x", "c": []string{"red", "blue"}},
}

// Translation is exact: Pinecone's semantics on the translated filter agree
// with index.Filter.Match for every operator, on lists, missing fields,
// mixed types and int/float.
func TestTranslationAgreesWithMatch(t *testing.T) {
	t.Parallel()
	fields := []string{"c", "n", "b", "tags", "missing"}
	values := []any{"red", "x", "3", int64(3), 3.0, -1.5, true, false}
	var filters []index.Filter
	for _, f := range fields {
		filters = append(filters, index.Exists(f))
		for _, v := range values {
			filters = append(filters, index.Eq(f, v), index.Ne(f, v))
			if _, ok := v.(bool); !ok {
				filters = append(filters, index.In(f, v, "y"), index.NotIn(f, v, "y"))
			}
			switch v.(type) {
			case int64, float64:
				filters = append(filters, index.Gt(f, v), index.Gte(f, v), index.Lt(f, v), index.Lte(f, v))
			}
		}
	}
	n := len(filters)
	for i := 0; i+1 < n; i += 3 {
		filters = append(filters, index.And(filters[i], filters[i+1]), index.Or(filters[i], filters[i+1]))
	}
	for _, f := range filters {
		pf, err := translateFilter(f)
		require.NoError(t, err, "%v", f)
		for _, md := range sampleMetadata {
			got, err := pineconetest.MatchFilter(pf, wire(t, md))
			require.NoError(t, err)
			assert.Equal(t, f.Match(md), got, "filter %v on %v", f, md)
		}
	}
}

func FuzzTranslateFilter(f *testing.F) {
	f.Add("c", "red", int64(3), 1.5, true, uint8(0), uint8(1))
	f.Add("tags", "x", int64(-1), 3.0, false, uint8(5), uint8(2))
	f.Fuzz(func(t *testing.T, field, s string, i int64, x float64, b bool, op, shape uint8) {
		vals := []any{s, i, x, b}
		v := vals[int(shape)%len(vals)]
		var flt index.Filter
		switch op % 9 {
		case 0:
			flt = index.Eq(field, v)
		case 1:
			flt = index.Ne(field, v)
		case 2:
			flt = index.In(field, v, s)
		case 3:
			flt = index.NotIn(field, v, i)
		case 4:
			flt = index.Gt(field, v)
		case 5:
			flt = index.Lte(field, v)
		case 6:
			flt = index.Exists(field)
		case 7:
			flt = index.And(index.Eq(field, v), index.Ne("c", s))
		default:
			flt = index.Or(index.Lt(field, x), index.In("tags", s))
		}
		pf, err := translateFilter(flt)
		if flt.Validate() != nil {
			require.Error(t, err)
			return
		}
		if err != nil { // only integers beyond 2^53 may be refused
			require.ErrorIs(t, err, index.ErrInvalidFilter)
			return
		}
		for _, md := range append(sampleMetadata, index.Metadata{field: v}, index.Metadata{field: []string{s}}) {
			norm, nerr := md.Normalize()
			if nerr != nil {
				continue
			}
			if _, err := onWire(norm); err != nil {
				continue
			}
			got, err := pineconetest.MatchFilter(pf, wire(t, norm))
			require.NoError(t, err)
			require.Equal(t, flt.Match(norm), got, "filter %v on %v", flt, norm)
		}
	})
}

func FuzzMetadataRoundTrip(f *testing.F) {
	f.Add("k", "v", int64(7), 2.5, true, "a", "b")
	f.Fuzz(func(t *testing.T, k, s string, i int64, x float64, b bool, l1, l2 string) {
		md, err := index.Metadata{k + "s": s, k + "i": i, k + "f": x, k + "b": b, k + "l": []string{l1, l2}}.Normalize()
		if err != nil {
			return
		}
		st, err := onWire(md)
		if i > maxExactInt || i < -maxExactInt {
			require.ErrorIs(t, err, index.ErrInvalidMetadata)
			return
		}
		require.NoError(t, err)
		require.True(t, proto.Equal(referenceStruct(t, md), st), "toStruct(%v) decodes to %v", md, st)
		// Through the wire encoding and back.
		b2, err := protojson.Marshal(st)
		require.NoError(t, err)
		require.NoError(t, protojson.Unmarshal(b2, st))
		got, err := fromPineconeMetadata(st)
		require.NoError(t, err)
		for key, want := range md {
			switch w := want.(type) {
			case int64:
				assert.Equal(t, float64(w), got[key])
			default:
				assert.Equal(t, want, got[key])
			}
		}
	})
}
