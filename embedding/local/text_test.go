package local_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
)

var _ embedding.Encoder = (*local.TextEncoder)(nil)

func newTextEncoder(t testing.TB, opts ...local.TextOption) *local.TextEncoder {
	t.Helper()
	e, err := local.NewTextEncoder(opts...)
	require.NoError(t, err)
	return e
}

func encodeText(t testing.TB, e *local.TextEncoder, text string) []float32 {
	t.Helper()
	v, err := e.EncodeText(text)
	require.NoError(t, err)
	return v
}

func TestTextEncoderInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  []local.TextOption
		dim   int
		model string
	}{
		{"defaults", nil, 256, "shoal-local-text/v1 dim=256 words=1-2 chars=3-5 seed=1"},
		{"dim", []local.TextOption{local.WithTextDim(100)}, 100, "shoal-local-text/v1 dim=100 words=1-2 chars=3-5 seed=1"},
		{"smallest", []local.TextOption{local.WithTextDim(local.MinTextDim)}, 16, "shoal-local-text/v1 dim=16 words=1-2 chars=3-5 seed=1"},
		{"seed", []local.TextOption{local.WithTextSeed(42)}, 256, "shoal-local-text/v1 dim=256 words=1-2 chars=3-5 seed=42"},
		{"no bigrams", []local.TextOption{local.WithWordBigrams(false)}, 256, "shoal-local-text/v1 dim=256 words=1 chars=3-5 seed=1"},
		{"no chars", []local.TextOption{local.WithCharNGrams(0, 0)}, 256, "shoal-local-text/v1 dim=256 words=1-2 chars=none seed=1"},
		{"chars", []local.TextOption{local.WithCharNGrams(2, 8), local.WithTextDim(1000)}, 1000,
			"shoal-local-text/v1 dim=1000 words=1-2 chars=2-8 seed=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTextEncoder(t, tt.opts...)
			info := e.Info()
			assert.Equal(t, tt.dim, info.Dim)
			assert.Equal(t, tt.model, info.Model)
			assert.True(t, info.Normalized)
			assert.Zero(t, info.MaxBatch)

			for _, text := range []string{"a", "Shoal curates training data", strings.Repeat("long text ", 500)} {
				v := encodeText(t, e, text)
				assert.Len(t, v, tt.dim)
				assert.InDelta(t, 1, norm(v), 1e-5, text)
			}
		})
	}
}

func TestNewTextEncoderRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  local.TextOption
		msg  string
	}{
		{"dim 0", local.WithTextDim(0), "embedding: invalid option: WithTextDim(0): want 16 to 16384"},
		{"dim too small", local.WithTextDim(local.MinTextDim - 1), "WithTextDim(15)"},
		{"dim negative", local.WithTextDim(-3), "WithTextDim(-3)"},
		{"dim too large", local.WithTextDim(local.MaxDim + 1), "WithTextDim(16385)"},
		{"n-gram min 0", local.WithCharNGrams(0, 3), "embedding: invalid option: WithCharNGrams(0, 3): want 1 <= min <= max <= 8, or 0, 0 for none"},
		{"n-gram max < min", local.WithCharNGrams(4, 3), "WithCharNGrams(4, 3)"},
		{"n-gram too long", local.WithCharNGrams(3, local.MaxCharNGram+1), "WithCharNGrams(3, 9)"},
		{"n-gram negative", local.WithCharNGrams(-1, -1), "WithCharNGrams(-1, -1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := local.NewTextEncoder(tt.opt)
			assert.ErrorIs(t, err, embedding.ErrInvalidOption)
			assert.ErrorContains(t, err, tt.msg)
			assert.Nil(t, e)
		})
	}
}

func TestTextEncoderDeterminism(t *testing.T) {
	t.Parallel()
	in := []embedding.Input{{ID: "a", Text: "Red cotton T-shirt, size M"}, {ID: "b", Text: "東京タワーの夜景 🗼"}}
	for _, opts := range [][]local.TextOption{nil, {local.WithTextDim(100), local.WithCharNGrams(2, 4)}, {local.WithWordBigrams(false)}} {
		v1, err := newTextEncoder(t, opts...).Encode(context.Background(), in)
		require.NoError(t, err)
		v2, err := newTextEncoder(t, opts...).Encode(context.Background(), in)
		require.NoError(t, err)
		assert.Equal(t, v1, v2)
	}

	a := newTextEncoder(t, local.WithTextSeed(1))
	b := newTextEncoder(t, local.WithTextSeed(2))
	va, vb := encodeText(t, a, in[0].Text), encodeText(t, b, in[0].Text)
	assert.NotEqual(t, va, vb)
	assert.Less(t, cosine(va, vb), 0.5, "different seeds give unrelated spaces")
}

// TestTextEncoderGolden pins a few elements of a vector, so that a change of
// the vector format (which must come with a new model version) cannot go
// unnoticed.
func TestTextEncoderGolden(t *testing.T) {
	t.Parallel()
	v := encodeText(t, newTextEncoder(t), "The quick brown fox jumps over the lazy dog")
	got := v[:4]
	want := []float32{0.014934831, -0.084063806, 0.029759046, -0.0631172}
	assert.InDeltaSlice(t, want, got, 1e-6, "got %#v", got)
}

func TestTextEncoderSimilarity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		anchor, similar, unrelated string
	}{
		{"a red cotton t-shirt", "red t-shirt made of cotton", "quarterly revenue grew by five percent"},
		{"photo of a cat sleeping on a sofa", "a cat sleeps on the sofa", "a stock market crash in 1929"},
		{"running shoes for trail running", "trail runners (shoes)", "chocolate cake recipe"},
		{"Schwarzer Ledergürtel", "schwarzer Gürtel aus Leder", "roter Sommerhut"},
		{"striped sweater", "stripes on a sweatshirt", "a dog in a park"}, // word pieces only
	}
	for _, opts := range [][]local.TextOption{nil, {local.WithTextDim(64)}, {local.WithTextDim(1024), local.WithCharNGrams(0, 0)}} {
		e := newTextEncoder(t, opts...)
		for _, tt := range tests {
			if strings.Contains(tt.anchor, "striped") && strings.Contains(e.Info().Model, "chars=none") {
				continue // shares no whole word: needs character n-grams
			}
			a, s, u := encodeText(t, e, tt.anchor), encodeText(t, e, tt.similar), encodeText(t, e, tt.unrelated)
			assert.Greater(t, cosine(a, s), cosine(a, u)+0.1, "%s: %q vs %q / %q", e.Info().Model, tt.anchor, tt.similar, tt.unrelated)
		}
	}
}

func TestTextEncoderNormalization(t *testing.T) {
	t.Parallel()
	e := newTextEncoder(t)
	same := [][]string{
		{"Hello World", "hello world", "HELLO, world!", "  hello\n\tworld...  "},
		{"ÉCOLE Élémentaire", "école élémentaire"},
		{"Привет МИР", "привет мир"},
	}
	for _, group := range same {
		want := encodeText(t, e, group[0])
		for _, text := range group[1:] {
			assert.Equal(t, want, encodeText(t, e, text), "%q vs %q", group[0], text)
		}
	}
	// Symbols are tokens; scripts without spaces are one token per run.
	for _, text := range []string{"🐟", "東京タワー", "C++ ≥ 2", "naïve café"} {
		v := encodeText(t, e, text)
		assert.InDelta(t, 1, norm(v), 1e-5, text)
	}
	assert.NotEqual(t, encodeText(t, e, "fish 🐟"), encodeText(t, e, "fish"))
}

func TestTextEncoderWordOrder(t *testing.T) {
	t.Parallel()
	// Only bigrams see word order.
	with := newTextEncoder(t)
	without := newTextEncoder(t, local.WithWordBigrams(false))
	a, b := "dog bites man", "man bites dog"
	assert.Equal(t, encodeText(t, without, a), encodeText(t, without, b))
	va, vb := encodeText(t, with, a), encodeText(t, with, b)
	assert.NotEqual(t, va, vb)
	assert.Greater(t, cosine(va, vb), 0.8, "same words")
}

func TestTextEncoderTermFrequency(t *testing.T) {
	t.Parallel()
	// Sublinear TF: repeating a word raises its weight, but slowly.
	e := newTextEncoder(t, local.WithCharNGrams(0, 0), local.WithWordBigrams(false), local.WithTextDim(4096))
	fish, boat := encodeText(t, e, "fish"), encodeText(t, e, "boat")
	once := encodeText(t, e, "fish boat")
	many := encodeText(t, e, "fish fish fish fish fish fish fish boat")
	assert.InDelta(t, cosine(once, fish), cosine(once, boat), 0.05)
	assert.Greater(t, cosine(many, fish), cosine(many, boat))
	// 1+ln 7 ≈ 2.95, where raw counts would give 7.
	assert.Less(t, cosine(many, fish)/cosine(many, boat), 4.0)
	assert.Greater(t, cosine(many, fish)/cosine(many, boat), 2.0)
}

func TestTextEncoderBadInput(t *testing.T) {
	t.Parallel()
	e := newTextEncoder(t)
	tests := []struct {
		name string
		in   embedding.Input
		msg  string
	}{
		{"empty", embedding.Input{ID: "e1"}, "empty text"},
		{"spaces", embedding.Input{ID: "e2", Text: " \t\n"}, "empty text"},
		{"image only", embedding.Input{ID: "e3", Image: []byte{1, 2, 3}}, "empty text"},
		{"punctuation", embedding.Input{ID: "e4", Text: "?!... ,;"}, "no words"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := e.Encode(context.Background(), []embedding.Input{{ID: "ok", Text: "fine"}, tt.in})
			require.Error(t, err)
			assert.ErrorIs(t, err, embedding.ErrInvalidInput)
			assert.Contains(t, err.Error(), fmt.Sprintf("input %q", tt.in.ID))
			assert.Contains(t, err.Error(), tt.msg)
			assert.Nil(t, out)

			v, err := e.EncodeText(tt.in.Text)
			assert.ErrorIs(t, err, embedding.ErrInvalidInput)
			assert.Nil(t, v)
		})
	}
}

func TestTextEncoderCancel(t *testing.T) {
	t.Parallel()
	e := newTextEncoder(t)
	in := []embedding.Input{{ID: "1", Text: "a"}, {ID: "2", Text: "b"}, {ID: "3", Text: "c"}, {ID: "4", Text: "d"}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := e.Encode(ctx, in)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, out)

	c := &cancelAfter{Context: context.Background(), n: 1}
	out, err = e.Encode(c, in)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, out)
	assert.Equal(t, int64(2), c.calls.Load(), "stops between the first and the second input")
}

func TestTextEncoderConcurrent(t *testing.T) {
	t.Parallel()
	e := newTextEncoder(t)
	in := make([]embedding.Input, 50)
	for i := range in {
		in[i] = embedding.Input{ID: fmt.Sprint(i), Text: fmt.Sprintf("item %d of the pool: %s", i, strings.Repeat("word ", i%7))}
	}
	want, err := e.Encode(context.Background(), in)
	require.NoError(t, err)
	var wg sync.WaitGroup
	got := make([][][]float32, 8)
	errs := make([]error, 8)
	for g := range got {
		wg.Go(func() { got[g], errs[g] = e.Encode(context.Background(), in) })
	}
	wg.Wait()
	for g := range got {
		require.NoError(t, errs[g])
		assert.Equal(t, want, got[g])
	}
}

func FuzzTextEncoder(f *testing.F) {
	for _, s := range []string{"", "a", "Hello, world!", "東京 🗼", "\xff\xfe", "a\u0301b", "?!"} {
		f.Add(s)
	}
	e, err := local.NewTextEncoder()
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, text string) {
		v, err := e.EncodeText(text)
		if err != nil {
			require.ErrorIs(t, err, embedding.ErrInvalidInput)
			return
		}
		require.Len(t, v, e.Info().Dim)
		require.InDelta(t, 1, norm(v), 1e-5)
	})
}
