package pineconetest

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/index"
)

// reference decodes a Struct the slow way: the generated type, then AsMap.
func reference(t *testing.T, b []byte) (index.Metadata, bool) {
	var st structpb.Struct
	require.NoError(t, proto.Unmarshal(b, &st))
	out := index.Metadata{}
	for k, v := range st.AsMap() {
		switch x := v.(type) {
		case string, bool, float64:
			out[k] = x
		case []any:
			ss := []string{}
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, false
				}
				ss = append(ss, s)
			}
			out[k] = ss
		default: // null, nested
			return nil, false
		}
	}
	if len(out) == 0 {
		out = nil
	}
	return out, true
}

func TestParseStructMatchesGeneratedDecoder(t *testing.T) {
	cases := []map[string]any{
		{},
		{"s": "x", "n": 2.5, "b": true, "f": false, "neg": math.Copysign(0, -1), "big": 1e300},
		{"l": []any{"a", "b"}, "e": []any{}, "u": "ñandú 🐟\x00"},
		{"null": nil},
		{"nested": map[string]any{"a": "b"}},
		{"mixed": []any{"a", 1.0}},
		{"ok": "y", "nested": []any{[]any{"a"}}},
	}
	for _, c := range cases {
		st, err := structpb.NewStruct(c)
		require.NoError(t, err)
		b, err := proto.Marshal(st)
		require.NoError(t, err)
		got, err := parseStruct(b)
		want, ok := reference(t, b)
		if !ok {
			assert.Error(t, err, "%v", c)
			continue
		}
		require.NoError(t, err, "%v", c)
		assert.Equal(t, want, got, "%v", c)
	}
}

func FuzzParseStruct(f *testing.F) {
	for _, c := range []map[string]any{{"s": "x", "n": 1.0, "l": []any{"a"}}, {"b": true, "x": nil}} {
		st, _ := structpb.NewStruct(c)
		b, _ := proto.Marshal(st)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var st structpb.Struct
		if proto.Unmarshal(b, &st) != nil {
			_, _ = parseStruct(b) // must not panic
			return
		}
		// Re-encode so that both decoders see canonical bytes (the
		// generated decoder keeps the last of repeated map keys too).
		canon, err := proto.Marshal(&st)
		require.NoError(t, err)
		got, err := parseStruct(canon)
		want, ok := reference(t, canon)
		if !ok {
			assert.Error(t, err)
			return
		}
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
}
