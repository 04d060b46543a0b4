package vertex

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/embedding"
)

// FuzzDecodeOutputLine feeds arbitrary lines to the batch output decoder
// of each model kind: it must never panic, and a line it accepts must give
// an ID and a vector of the model's dimension; a rejected line wraps one of
// the documented sentinels.
func FuzzDecodeOutputLine(f *testing.F) {
	f.Add([]byte(`{"key":"a","prediction":{"embeddings":{"values":[1,2,3],"statistics":{"token_count":1}}}}`), false)
	f.Add([]byte(`{"key":"b","prediction":{"imageEmbedding":[0.5,0.25,1]}}`), false)
	f.Add([]byte(`{"instance":{"id":"c","text":"x"},"prediction":{"embedding":[1,2,3]}}`), false)
	f.Add([]byte(`{"key":7,"prediction":[1,2,3]}`), false)
	f.Add([]byte(`{"key":"d","status":"INVALID_ARGUMENT"}`), true)
	f.Add([]byte(`{"key":"e","prediction":{"embeddings":{"values":[1,"x",3]}}}`), false)
	f.Add([]byte(`not json`), false)
	encs := []*Encoder{
		{kind: kindText, info: embedding.Info{Dim: 3}},
		{kind: kindMultimodal, info: embedding.Info{Dim: 3}},
		{kind: kindCustom, info: embedding.Info{Dim: 3}},
		{kind: kindCustom, info: embedding.Info{Dim: 3}, cfg: config{predPath: []string{"a", "b"}}},
	}
	f.Fuzz(func(t *testing.T, line []byte, isErr bool) {
		for _, e := range encs {
			rec, err := e.decodeOutputLine(line, isErr)
			if err != nil {
				if !errors.Is(err, embedding.ErrBadOutput) && !errors.Is(err, embedding.ErrInvalidInput) {
					t.Fatalf("error wraps no sentinel: %v", err)
				}
				continue
			}
			if rec.ID == "" || len(rec.Vector) != 3 {
				t.Fatalf("accepted %q as %+v", line, rec)
			}
		}
	})
}

// FuzzExtractVector walks arbitrary JSON predictions along a path.
func FuzzExtractVector(f *testing.F) {
	f.Add([]byte(`{"embedding":[1,2]}`), "embedding", 2)
	f.Add([]byte(`[1,2]`), "", 2)
	f.Add([]byte(`{"a":{"b":[1e400,2]}}`), "a.b", 2)
	f.Add([]byte(`{"a":null}`), "a.b", 1)
	f.Fuzz(func(t *testing.T, js []byte, path string, dim int) {
		if dim < 0 || dim > 1<<12 {
			return
		}
		var v structpb.Value
		if v.UnmarshalJSON(js) != nil {
			return
		}
		var p []string
		if path != "" {
			p = splitPath(path)
		}
		vec, err := extractVector(&v, p, dim)
		if err != nil {
			if !errors.Is(err, embedding.ErrBadOutput) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(vec) != dim {
			t.Fatalf("got %d values, want %d", len(vec), dim)
		}
	})
}

func splitPath(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
