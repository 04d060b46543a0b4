package openai_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/openai"
	"github.com/shoalhq/shoal/backends/openai/openaitest"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
)

// retryAfterOf returns the wait an error asks for.
func retryAfterOf(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter()
	}
	return -1
}

func TestServiceErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		code      int
		after     time.Duration
		sentinel  error
		retryable bool
		wantAfter time.Duration
	}{
		{"429 Retry-After seconds", http.StatusTooManyRequests, 2 * time.Second, index.ErrResourceExhausted, true, 2 * time.Second},
		{"429 retry-after-ms", http.StatusTooManyRequests, 1500 * time.Millisecond, index.ErrResourceExhausted, true, 1500 * time.Millisecond},
		{"500", http.StatusInternalServerError, 0, index.ErrUnavailable, true, 0},
		{"503 Retry-After", http.StatusServiceUnavailable, time.Second, index.ErrUnavailable, true, time.Second},
		{"401", http.StatusUnauthorized, 0, index.ErrUnauthenticated, false, 0},
		{"403", http.StatusForbidden, 0, index.ErrUnauthenticated, false, 0},
		{"400", http.StatusBadRequest, 0, embedding.ErrInvalidInput, false, 0},
		{"413 (TEI batch size)", http.StatusRequestEntityTooLarge, 0, embedding.ErrInvalidInput, false, 0},
		{"422 (TEI, Infinity validation)", http.StatusUnprocessableEntity, 0, embedding.ErrInvalidInput, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			enc := newEncoder(t, srv)
			srv.FailNext(1, c.code, c.after)
			_, err := enc.Encode(context.Background(), texts("only"))
			require.ErrorIs(t, err, c.sentinel)
			assert.Equal(t, c.retryable, embedding.IsRetryable(err))
			if c.retryable {
				assert.Equal(t, c.wantAfter, retryAfterOf(err))
			}
			var api *oai.Error
			require.ErrorAs(t, err, &api, "the client's error stays reachable")
			assert.Equal(t, c.code, api.StatusCode)
			assert.Equal(t, 1, strings.Count(err.Error(), "openai: "), err.Error())
			assert.Equal(t, 1, srv.Calls(), "the client does not retry on its own")
			if c.sentinel == embedding.ErrInvalidInput {
				assert.Contains(t, err.Error(), `input 0 (id "a")`)
			}
		})
	}
}

func TestAuthenticationErrorHidesKey(t *testing.T) {
	t.Parallel()
	const right, wrong = "sk-right-0123456789abcdef", "sk-wrong-fedcba9876543210"
	srv := newFake(t, openaitest.WithAPIKey(right))
	for _, key := range []string{wrong, ""} {
		enc := newEncoder(t, srv, openai.WithAPIKey(key))
		_, err := enc.Encode(context.Background(), texts("x"))
		require.ErrorIs(t, err, index.ErrUnauthenticated, key)
		assert.False(t, embedding.IsRetryable(err))
		msg := err.Error()
		assert.Contains(t, msg, "refused the API key (HTTP 401)")
		for _, secret := range []string{right, wrong, "sk-", "3210", "wrong"} {
			assert.NotContains(t, msg, secret)
		}
		// The server's message quotes the masked key; it is kept out of the
		// text but reachable for whoever asks.
		var api *oai.Error
		require.ErrorAs(t, err, &api)
		assert.Equal(t, http.StatusUnauthorized, api.StatusCode)
	}
	enc := newEncoder(t, srv, openai.WithAPIKey(right))
	_, err := enc.Encode(context.Background(), texts("x"))
	require.NoError(t, err)
}

func TestTimeoutIsRetryable(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	// The request timeout of 50 ms always ends the 1-minute wait first.
	srv.SetLatency(time.Minute)
	enc := newEncoder(t, srv, openai.WithRequestTimeout(50*time.Millisecond))
	_, err := enc.Encode(context.Background(), texts("x"))
	require.ErrorIs(t, err, index.ErrUnavailable)
	assert.True(t, embedding.IsRetryable(err))

	// The caller's own deadline or cancel is not retried.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = enc.Encode(ctx, texts("x"))
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, embedding.IsRetryable(err))
}

func TestNotFoundModel(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	_, err := openai.NewEncoder(context.Background(), openai.WithBaseURL(srv.URL()), openai.WithModel("no-such-model"))
	require.ErrorIs(t, err, index.ErrNotFound)
	assert.Contains(t, err.Error(), `model "no-such-model"`)
	assert.Equal(t, 1, strings.Count(err.Error(), "openai: "), err.Error())
}

// A request the server refuses (here: one input over the fake's 5-token
// limit, while the encoder allows 8,192) is split until the refused input
// is found and named.
func TestBadRequestNamesTheItem(t *testing.T) {
	t.Parallel()
	srv := newFake(t, openaitest.WithLimits(2048, 300_000, 5))
	rec := record(srv)
	enc := newEncoder(t, srv)
	in := texts("one", "two", "three", "one two three four five six seven", "four", "five")
	_, err := enc.Encode(context.Background(), in)
	require.ErrorIs(t, err, embedding.ErrInvalidInput)
	assert.Contains(t, err.Error(), `openai: input 3 (id "d"): embedding: invalid input (HTTP 400): This model's maximum context length is 5 tokens`)
	// 6 → 3+3: the first half passes, the second splits into 1+2, and the
	// 1 is the input refused.
	var sizes []int
	for _, r := range rec.all() {
		sizes = append(sizes, len(r.Inputs))
	}
	assert.Equal(t, []int{6, 3, 3, 1}, sizes)
}

func TestBadOutput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		how    openaitest.Malformation
		format string
		want   string
	}{
		{openaitest.DropLast, openai.Base64, `request of 3 inputs from input 0 (id "a"): embedding: encoder returned bad output: the server returned 2 embeddings`},
		{openaitest.DuplicateIndex, openai.Base64, `input 0 (id "a"): embedding: encoder returned bad output: the answer has index 0 twice`},
		{openaitest.IndexOutOfRange, openai.Float, `input 2 (id "c"): embedding: encoder returned bad output: embedding 2 of the answer has index 3, outside 0..2`},
		{openaitest.ShortVector, openai.Float, `input 0 (id "a"): embedding: encoder returned bad output: vector of length 1535, want 1536`},
		{openaitest.BadBase64, openai.Base64, `input 0 (id "a"): embedding: encoder returned bad output: vector of length 0, want 1536`},
	}
	for _, c := range cases {
		srv := newFake(t)
		enc := newEncoder(t, srv, openai.WithEncodingFormat(c.format))
		srv.Malform(func(openaitest.Request) openaitest.Malformation { return c.how })
		_, err := enc.Encode(context.Background(), texts("x", "y", "z"))
		require.ErrorIs(t, err, embedding.ErrBadOutput, c.want)
		assert.Equal(t, "openai: "+c.want, err.Error())
		assert.False(t, embedding.IsRetryable(err))
	}
	// Embeddings listed out of order are placed by their index.
	srv := newFake(t)
	enc := newEncoder(t, srv)
	srv.Malform(func(openaitest.Request) openaitest.Malformation { return openaitest.Reversed })
	in := texts("x", "y", "z")
	vecs, err := enc.Encode(context.Background(), in)
	require.NoError(t, err)
	for i, x := range in {
		assert.Equal(t, openaitest.Vector(x.Text, 1536), vecs[i])
	}
}

// EncodeAll retries what the encoder marks retryable: a rate limit and
// server errors cost retries, not items, and the order holds.
func TestEncodeAllThroughRateLimitsAndErrors(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.SetRateLimit(3, 20*time.Millisecond)
	srv.FailNext(2, http.StatusServiceUnavailable, 0)
	enc := newEncoder(t, srv, openai.WithDimensions(8))
	var retries int
	i := 0
	for e, err := range embedding.EncodeAll(context.Background(), enc, numbered(60), embedding.WithBatchSize(4),
		embedding.WithConcurrency(4), embedding.WithRetry(50, time.Millisecond, 50*time.Millisecond),
		embedding.WithProgress(func(p embedding.Progress) { retries = p.Retries })) {
		require.NoError(t, err)
		require.Equal(t, i, mustAtoi(t, e.Input.ID))
		assert.Equal(t, openaitest.Vector(e.Input.Text, 8), e.Vector)
		i++
	}
	assert.Equal(t, 60, i)
	assert.GreaterOrEqual(t, retries, 2)
}

// After FailAfter, EncodeAll gives up once its attempts are spent, with
// the retryable error of the last attempt.
func TestEncodeAllFailAfter(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	srv.FailAfter(2, http.StatusInternalServerError)
	enc := newEncoder(t, srv, openai.WithDimensions(8))
	done := 0
	var last error
	for _, err := range embedding.EncodeAll(context.Background(), enc, numbered(40), embedding.WithBatchSize(4),
		embedding.WithConcurrency(1), embedding.WithRetry(3, time.Millisecond, time.Millisecond)) {
		if err != nil {
			last = err
			break
		}
		done++
	}
	assert.Equal(t, 8, done)
	require.ErrorIs(t, last, index.ErrUnavailable)
	// Two good calls and three attempts of the failing batch; the one
	// worker may already have sent the next batch before the run stopped.
	assert.Contains(t, []int{2 + 3, 2 + 3 + 1}, srv.Calls())
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}
