package openai_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/openai"
	"github.com/shoalhq/shoal/backends/openai/openaitest"
	"github.com/shoalhq/shoal/embedding"
)

func TestEncodeBothFormats(t *testing.T) {
	t.Parallel()
	for _, format := range []string{openai.Base64, openai.Float} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			rec := record(srv)
			enc := newEncoder(t, srv, openai.WithEncodingFormat(format))
			assert.Equal(t, embedding.Info{Model: "text-embedding-3-small/1536", Dim: 1536, Normalized: true,
				MaxBatch: 2048, MaxBatchBytes: 300_000 - 2*2048}, enc.Info())
			in := texts("a red shoe", "a blue boot", "東京の天気 🙂")
			vecs, err := enc.Encode(context.Background(), in)
			require.NoError(t, err)
			require.Len(t, vecs, 3)
			for i, x := range in {
				// Both encodings carry the float32s exactly.
				assert.Equal(t, openaitest.Vector(x.Text, 1536), vecs[i], x.ID)
			}
			reqs := rec.all()
			require.Len(t, reqs, 1)
			assert.Equal(t, format, reqs[0].EncodingFormat)
			assert.Equal(t, []string{"a red shoe", "a blue boot", "東京の天気 🙂"}, reqs[0].Inputs)
			assert.Zero(t, reqs[0].Dimensions)
			assert.Empty(t, reqs[0].Modality)
		})
	}
}

func TestDimensions(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	rec := record(srv)
	enc := newEncoder(t, srv, openai.WithModel(openai.TextEmbedding3Large), openai.WithDimensions(256))
	assert.Equal(t, "text-embedding-3-large/256", enc.Info().Model)
	assert.Equal(t, 256, enc.Info().Dim)
	vecs, err := enc.Encode(context.Background(), texts("hello"))
	require.NoError(t, err)
	assert.Equal(t, openaitest.Vector("hello", 256), vecs[0])
	assert.Equal(t, 256, rec.all()[0].Dimensions)
	assert.Equal(t, "text-embedding-3-large", rec.all()[0].Model)
}

func TestUnknownModelDimensionIsProbed(t *testing.T) {
	t.Parallel()
	srv := newFake(t, openaitest.WithModel("nomic-embed-text", openaitest.Model{Dim: 768}))
	rec := record(srv)
	enc := newEncoder(t, srv, openai.WithModel("nomic-embed-text"), openai.WithModelName("nomic v1.5"))
	assert.Equal(t, embedding.Info{Model: "nomic v1.5", Dim: 768, Normalized: false, MaxBatch: 2048, MaxBatchBytes: 300_000 - 2*2048}, enc.Info())
	require.Len(t, rec.all(), 1, "one probe request")
	// A known model sends nothing at construction.
	newEncoder(t, srv)
	assert.Len(t, rec.all(), 1)
}

func TestEncodeSplitsByInputsAndTokens(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	rec := record(srv)
	enc := newEncoder(t, srv, openai.WithMaxInputs(3), openai.WithMaxRequestTokens(4))
	// "one two" is 2 tokens in cl100k_base: two per request by tokens.
	in := texts("one two", "one two", "one two", "one", "one", "one", "one")
	vecs, err := enc.Encode(context.Background(), in)
	require.NoError(t, err)
	for i, x := range in {
		assert.Equal(t, openaitest.Vector(x.Text, 1536), vecs[i])
	}
	var sizes, tokens []int
	for _, r := range rec.all() {
		sizes = append(sizes, len(r.Inputs))
		tokens = append(tokens, r.Tokens)
	}
	assert.Equal(t, []int{2, 3, 2}, sizes)
	assert.Equal(t, []int{4, 4, 2}, tokens)
}

func TestEncodeAllStaysWithinServerLimits(t *testing.T) {
	t.Parallel()
	// The fake refuses more than 5 inputs or 60 tokens per request; the
	// encoder is told so, and EncodeAll's batches of 32 are cut to fit.
	srv := newFake(t, openaitest.WithLimits(5, 60, 8192))
	rec := record(srv)
	enc := newEncoder(t, srv, openai.WithMaxInputs(5), openai.WithMaxRequestTokens(60))
	n := 0
	for e, err := range embedding.EncodeAll(context.Background(), enc, numbered(100), embedding.WithConcurrency(3)) {
		require.NoError(t, err)
		assert.Equal(t, openaitest.Vector(e.Input.Text, 1536), e.Vector)
		n++
	}
	assert.Equal(t, 100, n)
	for _, r := range rec.all() {
		assert.Equal(t, http.StatusOK, r.Status)
		assert.LessOrEqual(t, len(r.Inputs), 5)
		assert.LessOrEqual(t, r.Tokens, 60)
	}
}

// Token counts are cl100k_base's: anchored on tiktoken's own test
// (tests/test_encoding.py: "hello world" encodes as [15339, 1917]) and
// equal to the usage the fake reports, and EstimateTokens bounds them from
// above on text of every kind.
func TestTokenCounts(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 2, openai.CountTokens("hello world"))
	corpus := []string{
		"hello world",
		"The quick brown fox jumps over the lazy dog.",
		"3.14159265358979323846264338327950288419716939937510",
		"東京都の天気は晴れです。明日は雨が降るでしょう。",
		"🙂🙃😉😊😇🥰😍🤩",
		"func main() { fmt.Println(\"hi\") }\n\t// comment",
		"Ünïcödé àçcênts ñ ß ø å",
		"مرحبا بالعالم",
		strings.Repeat("lorem ipsum dolor sit amet ", 200),
		"x",
		"   leading and trailing spaces   ",
	}
	srv := newFake(t)
	rec := record(srv)
	enc := newEncoder(t, srv)
	_, err := enc.Encode(context.Background(), texts(corpus...))
	require.NoError(t, err)
	sum := 0
	for _, s := range corpus {
		n := openai.CountTokens(s)
		sum += n
		assert.GreaterOrEqual(t, openai.EstimateTokens(s), n, s)
		assert.Positive(t, n, s)
	}
	assert.Equal(t, sum, rec.all()[0].Tokens, "usage.prompt_tokens")
}

func TestPerInputTokenLimit(t *testing.T) {
	t.Parallel()
	long := "one two three four five six seven" // 7 tokens
	t.Run("error", func(t *testing.T) {
		t.Parallel()
		srv := newFake(t)
		enc := newEncoder(t, srv, openai.WithMaxInputTokens(5))
		in := texts("short", long)
		_, err := enc.Encode(context.Background(), in)
		require.ErrorIs(t, err, embedding.ErrInvalidInput)
		assert.Contains(t, err.Error(), `input 1 (id "b")`)
		assert.Contains(t, err.Error(), "7 tokens, over the limit of 5")
		assert.Zero(t, srv.Calls(), "nothing is sent")
	})
	t.Run("truncate", func(t *testing.T) {
		t.Parallel()
		// The fake enforces the same limit: a cut that overshot would 400.
		srv := newFake(t, openaitest.WithLimits(2048, 300_000, 5))
		rec := record(srv)
		enc := newEncoder(t, srv, openai.WithMaxInputTokens(5), openai.WithTruncate())
		vecs, err := enc.Encode(context.Background(), texts("short", long))
		require.NoError(t, err)
		got := rec.all()[0].Inputs[1]
		assert.Equal(t, "one two three four five", got)
		assert.Equal(t, openaitest.Vector(got, 1536), vecs[1])
	})
	t.Run("estimate", func(t *testing.T) {
		t.Parallel()
		srv := newFake(t)
		enc := newEncoder(t, srv, openai.WithMaxInputTokens(10), openai.WithTokenCounter(openai.EstimateTokens))
		_, err := enc.Encode(context.Background(), texts("12345678"))
		require.NoError(t, err)
		_, err = enc.Encode(context.Background(), texts("123456789"))
		require.ErrorIs(t, err, embedding.ErrInvalidInput)
	})
}

func pngBytes(t *testing.T) []byte {
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	img.SetGray(1, 2, color.Gray{Y: 200})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func TestImagesAsDataURIs(t *testing.T) {
	t.Parallel()
	srv := newFake(t, openaitest.WithImages(), openaitest.WithModel("clip", openaitest.Model{Dim: 16}))
	rec := record(srv)
	enc := newEncoder(t, srv, openai.WithModel("clip"), openai.WithImages())
	raw := pngBytes(t)
	dec, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	in := []embedding.Input{
		{ID: "img", Image: raw},
		{ID: "txt", Text: "a gray square"},
		{ID: "dec", Decoded: dec},
		{ID: "url", URI: "https://example.com/cat.png"},
	}
	vecs, err := enc.Encode(context.Background(), in)
	require.NoError(t, err)
	reqs := rec.all()
	require.Len(t, reqs, 3, "probe, texts, images")
	assert.Equal(t, []string{"a gray square"}, reqs[1].Inputs)
	assert.Empty(t, reqs[1].Modality)
	assert.Equal(t, "image", reqs[2].Modality)
	require.Len(t, reqs[2].Inputs, 3)
	assert.True(t, strings.HasPrefix(reqs[2].Inputs[0], "data:image/png;base64,"))
	assert.True(t, strings.HasPrefix(reqs[2].Inputs[1], "data:image/png;base64,"))
	assert.Equal(t, "https://example.com/cat.png", reqs[2].Inputs[2])
	assert.Equal(t, openaitest.Vector(reqs[2].Inputs[0], 16), vecs[0])
	assert.Equal(t, openaitest.Vector("a gray square", 16), vecs[1])
	assert.Equal(t, openaitest.Vector(reqs[2].Inputs[1], 16), vecs[2])
	assert.Equal(t, openaitest.Vector("https://example.com/cat.png", 16), vecs[3])
}

func TestInvalidInputs(t *testing.T) {
	t.Parallel()
	srv := newFake(t, openaitest.WithImages())
	plain := newEncoder(t, srv)
	images := newEncoder(t, srv, openai.WithImages())
	raw := pngBytes(t)
	cases := []struct {
		name string
		enc  *openai.Encoder
		in   embedding.Input
		want string
	}{
		{"empty", plain, embedding.Input{ID: "x"}, "no text and no image"},
		{"image without WithImages", plain, embedding.Input{ID: "x", Image: raw}, "images are off"},
		{"text and image", images, embedding.Input{ID: "x", Text: "t", Image: raw}, "both text and an image"},
		{"image and decoded", images, embedding.Input{ID: "x", Image: raw, Decoded: image.NewGray(image.Rect(0, 0, 1, 1))}, "both Image and Decoded"},
		{"not an image", images, embedding.Input{ID: "x", Image: []byte("plain text")}, "not an image type"},
		{"gs uri", images, embedding.Input{ID: "x", URI: "gs://b/o.png"}, "want an http or https URL"},
	}
	for _, c := range cases {
		_, err := c.enc.Encode(context.Background(), []embedding.Input{{ID: "ok", Text: "fine"}, c.in})
		require.ErrorIs(t, err, embedding.ErrInvalidInput, c.name)
		assert.Contains(t, err.Error(), `openai: input 1 (id "x"): `, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
	}
	assert.Zero(t, srv.Calls())
}

func TestOptions(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	ctx := context.Background()
	bad := []openai.Option{
		openai.WithBaseURL("ftp://x"), openai.WithBaseURL("localhost:8080"), openai.WithModel(""),
		openai.WithDimensions(0), openai.WithModelName(""), openai.WithEncodingFormat("binary"),
		openai.WithMaxInputs(0), openai.WithMaxRequestTokens(0), openai.WithMaxInputTokens(-1),
		openai.WithTokenCounter(nil), openai.WithHTTPClient(nil), openai.WithRequestTimeout(0),
		openai.WithClientOptions(nil), nil,
	}
	for i, o := range bad {
		_, err := openai.NewEncoder(ctx, openai.WithBaseURL("http://127.0.0.1:1/v1"), o)
		require.ErrorIs(t, err, openai.ErrInvalidOption, i)
		require.ErrorIs(t, err, embedding.ErrInvalidOption, i)
		assert.True(t, strings.HasPrefix(err.Error(), "openai: ") && !strings.Contains(err.Error(), "invalid option: "), err.Error())
	}
	// OpenAI's service without a key is refused before any request.
	_, err := openai.NewEncoder(ctx)
	require.ErrorIs(t, err, openai.ErrInvalidOption)
	assert.Contains(t, err.Error(), "OPENAI_API_KEY")
	//lint:ignore SA1012 a nil context is what this checks
	_, err = openai.NewEncoder(nil) //nolint:staticcheck
	require.ErrorIs(t, err, openai.ErrInvalidOption)
}

// authRecorder is a transport that remembers the Authorization headers
// sent.
type authRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (a *authRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.seen = append(a.seen, r.Header.Get("Authorization"))
	a.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func TestAPIKeyFromEnvironmentOnlyForOpenAI(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-env-secret")
	t.Setenv("OPENAI_BASE_URL", "")
	srv := newFake(t)
	tr := &authRecorder{}
	enc := newEncoder(t, srv, openai.WithHTTPClient(&http.Client{Transport: tr}))
	_, err := enc.Encode(context.Background(), texts("x"))
	require.NoError(t, err)
	assert.Equal(t, []string{""}, tr.seen, "an OpenAI key is not sent to another server")

	enc = newEncoder(t, srv, openai.WithAPIKey("sk-given"), openai.WithHTTPClient(&http.Client{Transport: tr}))
	_, err = enc.Encode(context.Background(), texts("x"))
	require.NoError(t, err)
	assert.Equal(t, "Bearer sk-given", tr.seen[1])

	// OPENAI_BASE_URL sets the default server.
	t.Setenv("OPENAI_BASE_URL", srv.URL())
	enc, err = openai.NewEncoder(context.Background(), openai.WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)
	_, err = enc.Encode(context.Background(), texts("x"))
	require.NoError(t, err)
	assert.Len(t, tr.seen, 3)
}

func TestConcurrentEncode(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.SetLatency(time.Millisecond)
	enc := newEncoder(t, srv, openai.WithDimensions(8))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			in := texts("alpha", "beta", string(rune('A'+g)))
			vecs, err := enc.Encode(context.Background(), in)
			assert.NoError(t, err)
			for i, x := range in {
				assert.Equal(t, openaitest.Vector(x.Text, 8), vecs[i])
			}
		})
	}
	wg.Wait()
}
