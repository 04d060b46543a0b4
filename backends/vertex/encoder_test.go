package vertex_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/googleapis/gax-go/v2/apierror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/shoalhq/shoal/backends/vertex"
	"github.com/shoalhq/shoal/backends/vertex/vertextest"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
)

func pngBytes(t testing.TB, seed int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		img.Pix[i] = uint8(seed*31 + i)
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func TestEncodePublisherModels(t *testing.T) {
	t.Parallel()
	img := pngBytes(t, 1)
	tests := []struct {
		name       string
		target     string
		opts       []vertex.Option
		in         embedding.Input
		key        string
		dim        int
		wantParams map[string]any
		wantInst   map[string]any
	}{
		{
			name: "multimodal image bytes", target: multimodalModel(), opts: []vertex.Option{vertex.WithDimension(256)},
			in: embedding.Input{ID: "a", Image: img}, key: vertextest.ImageKey(img), dim: 256,
			wantParams: map[string]any{"dimension": 256.0},
		},
		{
			name: "multimodal gcs uri", target: multimodalModel(),
			in: embedding.Input{ID: "b", URI: "gs://bkt/x.jpg"}, key: "uri:gs://bkt/x.jpg", dim: 1408,
			wantInst: map[string]any{"image": map[string]any{"gcsUri": "gs://bkt/x.jpg", "mimeType": "image/jpeg"}},
		},
		{
			name: "multimodal text", target: multimodalModel(), opts: []vertex.Option{vertex.WithDimension(128)},
			in: embedding.Input{ID: "c", Text: "a red shoe"}, key: "text:a red shoe", dim: 128,
			wantInst: map[string]any{"text": "a red shoe"},
		},
		{
			name: "text model with task type and dimensionality", target: textModel(),
			opts: []vertex.Option{vertex.WithDimension(64), vertex.WithTaskType("RETRIEVAL_DOCUMENT"), vertex.WithAutoTruncate(false)},
			in:   embedding.Input{ID: "d", Text: "hello"}, key: "text:hello", dim: 64,
			wantParams: map[string]any{"autoTruncate": false, "outputDimensionality": 64.0},
			wantInst:   map[string]any{"content": "hello", "task_type": "RETRIEVAL_DOCUMENT"},
		},
		{
			name: "text model full size", target: textModel(),
			in: embedding.Input{ID: "e", Text: "hello"}, key: "text:hello", dim: 768,
			wantParams: map[string]any{"autoTruncate": true},
			wantInst:   map[string]any{"content": "hello"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			var got []vertextest.PredictCall
			var mu sync.Mutex
			srv.OnPredict(func(c vertextest.PredictCall) { mu.Lock(); got = append(got, c); mu.Unlock() })
			enc := newEncoder(t, srv, tc.target, tc.opts...)
			assert.Equal(t, tc.dim, enc.Info().Dim)
			vecs, err := enc.Encode(context.Background(), []embedding.Input{tc.in})
			require.NoError(t, err)
			require.Len(t, vecs, 1)
			assert.Equal(t, vertextest.Vector(tc.key, tc.dim), vecs[0])
			require.Len(t, got, 1)
			assert.Equal(t, tc.target, got[0].Endpoint)
			if tc.wantInst != nil {
				assert.Equal(t, tc.wantInst, got[0].Instances[0])
			}
			if tc.wantParams != nil {
				assert.Equal(t, tc.wantParams, got[0].Parameters)
			}
		})
	}
}

func TestInfoLimits(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	ep := srv.AddEndpoint(project, location, 32)
	tests := []struct {
		target string
		opts   []vertex.Option
		want   embedding.Info
	}{
		{multimodalModel(), nil, embedding.Info{Model: "multimodalembedding@001/1408", Dim: 1408, MaxBatch: 1}},
		{textModel(), nil, embedding.Info{Model: "text-embedding-005/768", Dim: 768, Normalized: true, MaxBatch: 250, MaxBatchBytes: vertex.TextMaxBatchBytes}},
		{vertex.PublisherModel(project, location, vertex.GeminiEmbedding001), []vertex.Option{vertex.WithDimension(256)},
			embedding.Info{Model: "gemini-embedding-001/256", Dim: 256, MaxBatch: 1, MaxBatchBytes: vertex.TextMaxBatchBytes}},
		{ep, []vertex.Option{vertex.WithDimension(32), vertex.WithModelName("ft-v3"), vertex.WithNormalized(true)},
			embedding.Info{Model: "ft-v3", Dim: 32, Normalized: true, MaxBatch: 64, MaxBatchBytes: 1_025_000}},
		{ep, []vertex.Option{vertex.WithDimension(32), vertex.WithMaxBatch(8), vertex.WithMaxBatchBytes(4096)},
			embedding.Info{Model: ep, Dim: 32, MaxBatch: 8, MaxBatchBytes: 4096}},
	}
	for _, tc := range tests {
		enc := newEncoder(t, srv, tc.target, tc.opts...)
		assert.Equal(t, tc.want, enc.Info(), tc.target)
	}
}

func TestNewEncoderRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
		opts   []vertex.Option
	}{
		{"malformed target", "models/x", nil},
		{"not an embedding model", vertex.PublisherModel(project, location, "gemini-2.0-flash"), nil},
		{"multimodal dimension", multimodalModel(), []vertex.Option{vertex.WithDimension(300)}},
		{"multimodal batch", multimodalModel(), []vertex.Option{vertex.WithMaxBatch(2)}},
		{"text dimension too large", textModel(), []vertex.Option{vertex.WithDimension(769)}},
		{"text batch too large", textModel(), []vertex.Option{vertex.WithMaxBatch(251)}},
		{"endpoint without dimension", vertex.Endpoint(project, location, "1"), nil},
		{"task type", textModel(), []vertex.Option{vertex.WithTaskType("NOPE")}},
		{"zero dimension", textModel(), []vertex.Option{vertex.WithDimension(0)}},
		{"nil builder", textModel(), []vertex.Option{vertex.WithInstanceBuilder(nil)}},
		{"empty path field", textModel(), []vertex.Option{vertex.WithPredictionPath("a..b")}},
		{"bad parameters", textModel(), []vertex.Option{vertex.WithParameters(map[string]any{"x": make(chan int)})}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := vertex.NewEncoder(context.Background(), tc.target, tc.opts...)
			require.Error(t, err)
			assert.ErrorIs(t, err, embedding.ErrInvalidOption)
		})
	}
}

func TestEncodeRejectsBadInputs(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	text := newEncoder(t, srv, textModel())
	mm := newEncoder(t, srv, multimodalModel())
	tests := []struct {
		name string
		enc  *vertex.Encoder
		in   []embedding.Input
		want string
	}{
		{"text model without text", text, []embedding.Input{{ID: "ok", Text: "x"}, {ID: "img-only", Image: []byte{1}}}, `"img-only"`},
		{"empty multimodal input", mm, []embedding.Input{{ID: "empty"}}, `"empty"`},
		{"http uri", mm, []embedding.Input{{ID: "web", URI: "https://example.com/a.png"}}, `"web"`},
		{"not an image", mm, []embedding.Input{{ID: "pdf", Image: []byte("%PDF-1.4 hello")}}, `"pdf"`},
		{"too many inputs", mm, []embedding.Input{{ID: "one", Text: "a"}, {ID: "two", Text: "b"}}, `"one"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.enc.Encode(context.Background(), tc.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, embedding.ErrInvalidInput)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	assert.Zero(t, srv.Calls(), "bad inputs must be caught before the request")
}

func TestEncodeAfterClose(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	enc := newEncoder(t, srv, textModel())
	require.NoError(t, enc.Close())
	require.NoError(t, enc.Close(), "Close twice is fine")
	_, err := enc.Encode(context.Background(), []embedding.Input{{ID: "a", Text: "x"}})
	assert.ErrorIs(t, err, index.ErrClosed)
}

func TestCustomEndpoint(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	ep := srv.AddEndpoint(project, location, 48)
	img := pngBytes(t, 2)

	t.Run("default instance and prediction", func(t *testing.T) {
		enc := newEncoder(t, srv, ep, vertex.WithDimension(48))
		vecs, err := enc.Encode(context.Background(), []embedding.Input{{ID: "t", Text: "hi"}, {ID: "i", Image: img}})
		require.NoError(t, err)
		assert.Equal(t, vertextest.Vector("text:hi", 48), vecs[0])
		assert.Equal(t, vertextest.Vector(vertextest.ImageKey(img), 48), vecs[1])
	})
	t.Run("instance builder and prediction path", func(t *testing.T) {
		var seen []any
		var mu sync.Mutex
		srv.OnPredict(func(c vertextest.PredictCall) { mu.Lock(); seen = append(seen, c.Instances...); mu.Unlock() })
		defer srv.OnPredict(nil)
		build := func(in embedding.Input) (map[string]any, error) {
			if in.Text == "" {
				return nil, errors.New("needs text")
			}
			return map[string]any{"content": in.Text, "lang": "en"}, nil
		}
		enc := newEncoder(t, srv, ep, vertex.WithDimension(48), vertex.WithInstanceBuilder(build),
			vertex.WithPredictionPath("embedding"), vertex.WithParameters(map[string]any{"pooling": "mean"}))
		vecs, err := enc.Encode(context.Background(), []embedding.Input{{ID: "t", Text: "hi"}})
		require.NoError(t, err)
		assert.Equal(t, vertextest.Vector("text:hi", 48), vecs[0])
		mu.Lock()
		assert.Equal(t, []any{map[string]any{"content": "hi", "lang": "en"}}, seen)
		mu.Unlock()
		_, err = enc.Encode(context.Background(), []embedding.Input{{ID: "no-text", Image: img}})
		assert.ErrorIs(t, err, embedding.ErrInvalidInput)
		assert.Contains(t, err.Error(), `"no-text"`)
	})
	t.Run("wrong prediction path", func(t *testing.T) {
		enc := newEncoder(t, srv, ep, vertex.WithDimension(48), vertex.WithPredictionPath("embeddings.values"))
		_, err := enc.Encode(context.Background(), []embedding.Input{{ID: "t", Text: "hi"}})
		assert.ErrorIs(t, err, embedding.ErrBadOutput)
		assert.Contains(t, err.Error(), `"t"`)
		assert.Contains(t, err.Error(), "embeddings.values")
	})
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	retryInfo, err := status.New(codes.ResourceExhausted, "quota").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(3 * time.Second)})
	require.NoError(t, err)
	tests := []struct {
		name      string
		err       error
		sentinel  error
		retryable bool
		after     time.Duration
	}{
		{"unavailable", status.Error(codes.Unavailable, "down"), index.ErrUnavailable, true, 0},
		{"quota with retry info", retryInfo.Err(), index.ErrResourceExhausted, true, 3 * time.Second},
		{"permission", status.Error(codes.PermissionDenied, "no"), index.ErrUnauthenticated, false, 0},
		{"unauthenticated", status.Error(codes.Unauthenticated, "no"), index.ErrUnauthenticated, false, 0},
		{"not found", status.Error(codes.NotFound, "gone"), index.ErrNotFound, false, 0},
		{"invalid", status.Error(codes.InvalidArgument, "bad"), embedding.ErrInvalidInput, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			srv.FailAfter(0, tc.err)
			enc := newEncoder(t, srv, textModel())
			_, err := enc.Encode(context.Background(), []embedding.Input{{ID: "x1", Text: "a"}})
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.sentinel)
			assert.Equal(t, tc.retryable, embedding.IsRetryable(err))
			assert.Contains(t, err.Error(), `"x1"`)
			var ae *apierror.APIError
			require.ErrorAs(t, err, &ae, "the client's error stays reachable")
			assert.Equal(t, status.Code(tc.err), ae.GRPCStatus().Code())
			var ra interface{ RetryAfter() time.Duration }
			if tc.after > 0 {
				require.ErrorAs(t, err, &ra)
				assert.Equal(t, tc.after, ra.RetryAfter())
			}
		})
	}
	t.Run("unknown endpoint", func(t *testing.T) {
		t.Parallel()
		srv := newFake(t)
		enc := newEncoder(t, srv, vertex.Endpoint(project, location, "404"), vertex.WithDimension(8))
		_, err := enc.Encode(context.Background(), []embedding.Input{{ID: "x", Text: "a"}})
		assert.ErrorIs(t, err, index.ErrNotFound)
	})
}

// numbered streams n text inputs "item-0000000"... .
func numbered(n int) iter.Seq2[embedding.Input, error] {
	return func(yield func(embedding.Input, error) bool) {
		for i := range n {
			id := fmt.Sprintf("item-%07d", i)
			if !yield(embedding.Input{ID: id, Text: id}, nil) {
				return
			}
		}
	}
}

func TestEncodeAllTransientErrorsExactlyOnceInOrder(t *testing.T) {
	t.Parallel()
	const n = 10_000
	srv := newFake(t, vertextest.WithSeed(7))
	srv.SetTransientErrorRate(0.05)
	var mu sync.Mutex
	embedded := map[string]int{}
	failedCalls, calls := 0, 0
	srv.OnPredict(func(c vertextest.PredictCall) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if c.Err != nil {
			failedCalls++
			return
		}
		for _, in := range c.Instances {
			embedded[in.(map[string]any)["content"].(string)]++
		}
	})
	enc := newEncoder(t, srv, textModel(), vertex.WithDimension(16))
	var retries int
	i := 0
	for e, err := range embedding.EncodeAll(context.Background(), enc, numbered(n),
		embedding.WithBatchSize(20), embedding.WithConcurrency(8), embedding.WithRetry(10, time.Millisecond, 5*time.Millisecond),
		embedding.WithProgress(func(p embedding.Progress) { retries = p.Retries })) {
		require.NoError(t, err)
		want := fmt.Sprintf("item-%07d", i)
		require.Equal(t, want, e.Input.ID, "results in input order")
		require.Equal(t, vertextest.Vector("text:"+want, 16), e.Vector)
		i++
	}
	require.Equal(t, n, i)
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, embedded, n)
	for id, c := range embedded {
		if c != 1 {
			t.Fatalf("input %s embedded %d times", id, c)
		}
	}
	assert.Equal(t, n/20+failedCalls, calls)
	assert.Equal(t, failedCalls, retries)
	assert.Greater(t, failedCalls, 10, "about 5%% of %d calls failed", calls)
	t.Logf("%d calls, %d transient failures retried", calls, failedCalls)
}

// TestEncodeAllCancelled cancels a run in the middle: EncodeAll ends with
// the context's error and, once the client is closed, no goroutine is
// left. It does not run in parallel, so goleak sees only its goroutines.
func TestEncodeAllCancelled(t *testing.T) {
	defer goleak.VerifyNone(t, append(leakOptions(), goleak.IgnoreCurrent())...)
	srv, err := vertextest.NewServer()
	require.NoError(t, err)
	defer srv.Close()
	srv.SetLatency(20 * time.Millisecond)
	enc, err := vertex.NewEncoder(context.Background(), textModel(), vertex.WithDimension(8), vertex.WithClientOptions(srv.ClientOptions()...))
	require.NoError(t, err)
	defer enc.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := 0
	var last error
	for _, err := range embedding.EncodeAll(ctx, enc, numbered(100_000), embedding.WithBatchSize(10), embedding.WithConcurrency(4)) {
		if err != nil {
			last = err
			break
		}
		got++
		if got == 100 {
			cancel()
		}
	}
	require.ErrorIs(t, last, context.Canceled)
	assert.Less(t, got, 1000, "the run stopped soon after the cancellation")
	assert.Less(t, srv.Calls(), 200)
}

func TestMalformedPredictionNamesTheInput(t *testing.T) {
	t.Parallel()
	img := pngBytes(t, 3)
	bad := func(key string, m vertextest.Malformation) func(any) vertextest.Malformation {
		return func(in any) vertextest.Malformation {
			if vertextest.Key(in) == key {
				return m
			}
			return vertextest.WellFormed
		}
	}
	tests := []struct {
		name   string
		target func(*vertextest.Server) string
		opts   []vertex.Option
		m      vertextest.Malformation
		want   string
	}{
		{"text wrong dimension", func(*vertextest.Server) string { return textModel() }, []vertex.Option{vertex.WithDimension(8)}, vertextest.WrongDimension, "has 7 values, want 8"},
		{"text missing field", func(*vertextest.Server) string { return textModel() }, []vertex.Option{vertex.WithDimension(8)}, vertextest.MissingField, `no field "embeddings.values"`},
		{"multimodal wrong dimension", func(*vertextest.Server) string { return multimodalModel() }, []vertex.Option{vertex.WithDimension(128)}, vertextest.WrongDimension, "has 127 values, want 128"},
		{"multimodal missing field", func(*vertextest.Server) string { return multimodalModel() }, []vertex.Option{vertex.WithDimension(128)}, vertextest.MissingField, `no field "imageEmbedding"`},
		{"endpoint missing field", func(s *vertextest.Server) string { return s.AddEndpoint(project, location, 8) }, []vertex.Option{vertex.WithDimension(8)}, vertextest.MissingField, `no field "embedding"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			enc := newEncoder(t, srv, tc.target(srv), tc.opts...)
			var in []embedding.Input
			for i := range 30 {
				in = append(in, embedding.Input{ID: fmt.Sprintf("ok-%d", i), Text: fmt.Sprintf("text %d", i)})
			}
			badInput := embedding.Input{ID: "the-bad-one", Text: "poison"}
			badKey := "text:poison"
			if tc.name == "multimodal missing field" {
				badInput, badKey = embedding.Input{ID: "the-bad-one", Image: img}, vertextest.ImageKey(img)
			}
			in = append(in[:17], append([]embedding.Input{badInput}, in[17:]...)...)
			srv.Malform(bad(badKey, tc.m))
			n := 0
			var gotErr error
			for _, err := range embedding.EncodeAll(context.Background(), enc, embedding.Inputs(in), embedding.WithBatchSize(5)) {
				if err != nil {
					gotErr = err
					break
				}
				n++
			}
			require.Error(t, gotErr)
			assert.ErrorIs(t, gotErr, embedding.ErrBadOutput)
			assert.Contains(t, gotErr.Error(), `"the-bad-one"`)
			assert.Contains(t, gotErr.Error(), tc.want)
			assert.False(t, embedding.IsRetryable(gotErr))
			assert.LessOrEqual(t, n, 17, "nothing after the bad input is reported as embedded")
		})
	}
}

// An in-memory image (embedding.Input.Decoded) is sent as PNG bytes: the
// same vector as its PNG file, and Image and Decoded together are refused.
func TestEncodeDecodedImage(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	enc := newEncoder(t, srv, multimodalModel())
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		img.Pix[i] = uint8(31 + i)
	}
	decoded, err := enc.Encode(t.Context(), []embedding.Input{{ID: "decoded", Decoded: img}})
	require.NoError(t, err)
	file, err := enc.Encode(t.Context(), []embedding.Input{{ID: "bytes", Image: pngBytes(t, 1)}})
	require.NoError(t, err)
	assert.Equal(t, file, decoded, "Decoded is sent as the PNG of the image")
	_, err = enc.Encode(t.Context(), []embedding.Input{{ID: "both", Decoded: img, Image: pngBytes(t, 1)}})
	require.ErrorIs(t, err, embedding.ErrInvalidInput)
	assert.ErrorContains(t, err, `"both"`)
}
