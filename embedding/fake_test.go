package embedding_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/shoalhq/shoal/embedding"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeEncoder is an in-memory [embedding.Encoder] that records its calls.
// By default it answers every input with vectorFor; fn, if set, decides
// the outcome of each call instead (attempt counts the calls whose first
// input is the same, from 1, so retries of a batch are numbered).
type fakeEncoder struct {
	info    embedding.Info
	latency time.Duration // each call waits this long (or until ctx ends)
	fn      func(ctx context.Context, in []embedding.Input, attempt int) ([][]float32, error)

	mu          sync.Mutex
	calls       int
	batches     [][]string     // the IDs of each call, in call order
	attempts    map[string]int // calls by first input ID
	inFlight    int
	maxInFlight int
	succeeded   map[string]int // successful encodings by input ID
}

func newFake(dim int) *fakeEncoder {
	return &fakeEncoder{info: embedding.Info{Model: "fake/v1", Dim: dim, Normalized: false}}
}

func (f *fakeEncoder) Info() embedding.Info { return f.info }

func (f *fakeEncoder) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	ids := make([]string, len(in))
	for i, x := range in {
		ids[i] = x.ID
	}
	f.mu.Lock()
	if f.attempts == nil {
		f.attempts, f.succeeded = make(map[string]int), make(map[string]int)
	}
	f.calls++
	f.batches = append(f.batches, ids)
	f.attempts[ids[0]]++
	attempt := f.attempts[ids[0]]
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()

	if f.latency > 0 {
		t := time.NewTimer(f.latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	var (
		out [][]float32
		err error
	)
	if f.fn != nil {
		out, err = f.fn(ctx, in, attempt)
	} else {
		out = vectorsFor(f.info.Dim, in)
	}
	if err == nil {
		f.mu.Lock()
		for _, id := range ids {
			f.succeeded[id]++
		}
		f.mu.Unlock()
	}
	return out, err
}

// stats returns a snapshot of the recorded calls.
func (f *fakeEncoder) stats() (calls int, batches [][]string, maxInFlight int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, append([][]string(nil), f.batches...), f.maxInFlight
}

// vectorFor is the fake's vector for an input: its ID's number, then ones.
// Element 0 lets a test check that a vector came back with its own input.
func vectorFor(dim int, in embedding.Input) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = 1
	}
	n, err := strconv.Atoi(in.ID)
	if err != nil {
		n = -1
	}
	v[0] = float32(n)
	return v
}

func vectorsFor(dim int, in []embedding.Input) [][]float32 {
	out := make([][]float32, len(in))
	for i, x := range in {
		out[i] = vectorFor(dim, x)
	}
	return out
}

// inputs returns n inputs with IDs "0" to "n-1".
func inputs(n int) []embedding.Input {
	in := make([]embedding.Input, n)
	for i := range in {
		in[i] = embedding.Input{ID: strconv.Itoa(i), Text: "item " + strconv.Itoa(i)}
	}
	return in
}

// result is one yield of EncodeAll.
type result struct {
	e   embedding.Embedded
	err error
}

// collect runs EncodeAll to the end.
func collect(ctx context.Context, e embedding.Encoder, in []embedding.Input, opts ...embedding.Option) []result {
	var out []result
	for e, err := range embedding.EncodeAll(ctx, e, embedding.Inputs(in), opts...) {
		out = append(out, result{e, err})
	}
	return out
}

// gate holds the first n callers of wait until n of them are waiting at
// once; it proves that n calls run concurrently. If they never do, wait
// gives up after a long timeout and reports false.
type gate struct {
	mu      sync.Mutex
	n, seen int
	open    chan struct{}
}

func newGate(n int) *gate { return &gate{n: n, open: make(chan struct{})} }

func (g *gate) wait(ctx context.Context) bool {
	g.mu.Lock()
	g.seen++
	if g.seen == g.n {
		close(g.open)
	}
	g.mu.Unlock()
	select {
	case <-g.open:
		return true
	case <-ctx.Done():
		return false
	case <-time.After(10 * time.Second):
		return false
	}
}

// errPermanent is a failure EncodeAll must not retry.
var errPermanent = errors.New("fake: permanent failure")

// retryableError asks for a retry through a Retryable method, as a
// backend's error type would.
type retryableError struct{ retry bool }

func (e retryableError) Error() string   { return "fake: retryable=" + strconv.FormatBool(e.retry) }
func (e retryableError) Retryable() bool { return e.retry }

// temporaryError uses the older net.Error convention.
type temporaryError struct{}

func (temporaryError) Error() string   { return "fake: temporary" }
func (temporaryError) Temporary() bool { return true }
