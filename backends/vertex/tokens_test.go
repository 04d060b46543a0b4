package vertex_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/vertex"
	"github.com/shoalhq/shoal/backends/vertex/vertextest"
	"github.com/shoalhq/shoal/embedding"
)

func TestEstimateTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"hello", 3},
		{"The quick brown fox.", 2 + 3 + 3 + 2 + 1},
		{"1234567890", 10},                              // digits: one token each
		{"東京都", 9},                                      // CJK: 3 bytes, 3 tokens each
		{"😀😀", 8},                                       // emoji: 4 bytes each
		{"Привет", 12},                                  // Cyrillic: 2 bytes each
		{"a\xffb", 3},                                   // an invalid byte counts 1
		{"  indented", 1 + 0 + 4},                       // a space before a letter joins it
		{"tab\tsep", 2 + 1 + 2},                         // other whitespace counts
		{"ID x9f3Qz7Lq", 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1}, // "ID"(1) " x"(1) "9"(1) "f"(1) "3"(1) "Qz"(1) "7"(1) "Lq"(1)
	}
	for _, tc := range tests {
		got := vertex.EstimateTokens(tc.text)
		assert.Equal(t, tc.want, got, "%q", tc.text)
		assert.LessOrEqual(t, got, len(tc.text), "the estimate never exceeds the bytes: %q", tc.text)
	}
}

// tokenInputs returns n inputs of text repeated to about size bytes.
func tokenInputs(n int, unit string, size int) []embedding.Input {
	text := strings.Repeat(unit, max(1, size/len(unit)))
	in := make([]embedding.Input, n)
	for i := range in {
		in[i] = embedding.Input{ID: fmt.Sprintf("t%03d", i), Text: fmt.Sprintf("%d %s", i, text)}
	}
	return in
}

// TestTextTokenBudget embeds CJK, emoji and digit texts, which take more
// than one token per three bytes: EncodeAll's batches and Encode's requests
// stay within the 20,000-token limit that the fake enforces with the same
// conservative count, so every input is embedded.
func TestTextTokenBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, unit string
	}{{"CJK", "東京の天気は晴れ"}, {"emoji", "😀🎉🚀"}, {"digits", "3141592653 "}, {"English", "the quick brown fox "}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			var mu sync.Mutex
			var sizes []int
			srv.OnPredict(func(c vertextest.PredictCall) {
				n := 0
				for _, inst := range c.Instances {
					n += vertex.EstimateTokens(inst.(map[string]any)["content"].(string)) + vertex.TokensPerInstance
				}
				mu.Lock()
				sizes = append(sizes, n)
				mu.Unlock()
				assert.NoError(t, c.Err)
			})
			enc := newEncoder(t, srv, textModel(), vertex.WithDimension(8))
			in := tokenInputs(600, tc.unit, 240)

			// EncodeAll batches within Info().MaxBatchBytes.
			n := 0
			for e, err := range embedding.EncodeAll(context.Background(), enc, embedding.Inputs(in)) {
				require.NoError(t, err)
				require.Equal(t, vertextest.Vector("text:"+in[n].Text, 8), e.Vector, e.Input.ID)
				n++
			}
			assert.Equal(t, len(in), n)

			// Encode itself splits a batch over the token budget.
			vecs, err := enc.Encode(context.Background(), in[:250])
			require.NoError(t, err)
			for i, v := range vecs {
				require.Equal(t, vertextest.Vector("text:"+in[i].Text, 8), v, in[i].ID)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, s := range sizes {
				assert.LessOrEqual(t, s, vertex.TextMaxTokens)
			}
		})
	}
}

// TestTokenLimitSplitsTheRequest plays a tokenizer that counts more than
// the estimate: the service refuses a request for its token count, and
// Encode splits it in halves until each is accepted; a single input over
// the limit is reported with its ID.
func TestTokenLimitSplitsTheRequest(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.SetMaxRequestTokens(700)
	var mu sync.Mutex
	var calls []int
	srv.OnPredict(func(c vertextest.PredictCall) {
		mu.Lock()
		calls = append(calls, len(c.Instances))
		mu.Unlock()
	})
	enc := newEncoder(t, srv, textModel(), vertex.WithDimension(8))
	in := tokenInputs(8, "東京", 90) // about 95 tokens each, 770 in all
	vecs, err := enc.Encode(context.Background(), in)
	require.NoError(t, err)
	require.Len(t, vecs, len(in))
	for i, v := range vecs {
		assert.Equal(t, vertextest.Vector("text:"+in[i].Text, 8), v, in[i].ID)
	}
	mu.Lock()
	assert.Equal(t, []int{8, 4, 4}, calls, "refused once, then two halves")
	mu.Unlock()

	srv.SetMaxRequestTokens(50)
	_, err = enc.Encode(context.Background(), in[:2])
	require.ErrorIs(t, err, embedding.ErrInvalidInput)
	assert.Contains(t, err.Error(), `"t000"`)
	assert.Contains(t, err.Error(), "input token count")
}
