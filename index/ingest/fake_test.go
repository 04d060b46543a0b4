package ingest_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
)

// fakeEncoder gives each input a vector derived from its text alone, so a
// re-encoded input gets the identical vector. An input whose text starts
// with "bad" makes the whole call fail with a permanent error, as a backend
// refuses a request with one input over its limit.
type fakeEncoder struct {
	model   string
	dim     int
	latency time.Duration
	calls   atomic.Int64
	onCall  func(n int) error // called first; an error fails the call
}

func (e *fakeEncoder) Info() embedding.Info {
	return embedding.Info{Model: e.model, Dim: e.dim, MaxBatch: 1000}
}

func (e *fakeEncoder) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	e.calls.Add(1)
	if e.onCall != nil {
		if err := e.onCall(len(in)); err != nil {
			return nil, err
		}
	}
	if e.latency > 0 {
		t := time.NewTimer(e.latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	out := make([][]float32, len(in))
	for i, x := range in {
		if strings.HasPrefix(x.Text, "bad") {
			return nil, fmt.Errorf("%w: input %q: text over the model's limit", embedding.ErrInvalidInput, x.ID)
		}
		out[i] = vectorOf(e.model, x.Text, e.dim)
	}
	return out, nil
}

func vectorOf(model, text string, dim int) []float32 {
	sum := sha256.Sum256([]byte(model + "\x00" + text))
	v := make([]float32, dim)
	for i := range v {
		b := sum[(i*4)%32:]
		v[i] = float32(binary.LittleEndian.Uint32(b[:4])%2000)/1000 - 1 + 0.01
	}
	return v
}

func newEncoder(dim int) *fakeEncoder { return &fakeEncoder{model: "fake/enc v1", dim: dim} }

// item builds the i-th synthetic input.
func item(i int, version string) embedding.Input {
	return embedding.Input{
		ID:       fmt.Sprintf("item-%06d", i),
		Text:     fmt.Sprintf("text %d %s", i, version),
		Metadata: map[string]any{"n": int64(i), "split": "train"},
	}
}

func items(n int, version string) []embedding.Input {
	out := make([]embedding.Input, n)
	for i := range out {
		out[i] = item(i, version)
	}
	return out
}

// quota is a token bucket over items per second, as a service's per-minute
// quota: a call that finds too few tokens is refused with
// index.ErrResourceExhausted and a retry-after of the time until there are
// enough (HTTP 429 with Retry-After; gRPC RESOURCE_EXHAUSTED: Vertex AI
// "Quotas and limits", Pinecone "Rate limits" — both answer 429 when a
// per-second or per-minute rate is exceeded and ask the client to back
// off). A random fraction of calls is refused as well.
type quota struct {
	mu       sync.Mutex
	rate     float64 // items per second
	burst    float64
	tokens   float64
	last     time.Time
	failRate float64
	rng      *rand.Rand
	refused  int
}

func newQuota(rate, burst, failRate float64, seed uint64) *quota {
	return &quota{rate: rate, burst: burst, tokens: burst, last: time.Now(), failRate: failRate, rng: rand.New(rand.NewPCG(seed, 1))}
}

func (q *quota) take(n int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	q.tokens = math.Min(q.burst, q.tokens+now.Sub(q.last).Seconds()*q.rate)
	q.last = now
	if q.rng.Float64() < q.failRate {
		q.refused++
		return driver.Temporary(fmt.Errorf("%w: injected 429", index.ErrResourceExhausted), 10*time.Millisecond)
	}
	if q.tokens < float64(n) {
		q.refused++
		wait := time.Duration((float64(n) - q.tokens) / q.rate * float64(time.Second))
		return driver.Temporary(fmt.Errorf("%w: quota of %.0f items/s", index.ErrResourceExhausted, q.rate), wait)
	}
	q.tokens -= float64(n)
	return nil
}
