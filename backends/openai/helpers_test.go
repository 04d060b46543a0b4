package openai_test

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/shoalhq/shoal/backends/openai"
	"github.com/shoalhq/shoal/backends/openai/openaitest"
	"github.com/shoalhq/shoal/embedding"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

// newFake starts an openaitest server for one test.
func newFake(t testing.TB, opts ...openaitest.Option) *openaitest.Server {
	t.Helper()
	srv, err := openaitest.NewServer(opts...)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

// newEncoder builds an encoder on srv (text-embedding-3-small unless opts
// say otherwise).
func newEncoder(t testing.TB, srv *openaitest.Server, opts ...openai.Option) *openai.Encoder {
	t.Helper()
	enc, err := openai.NewEncoder(context.Background(), append([]openai.Option{openai.WithBaseURL(srv.URL())}, opts...)...)
	require.NoError(t, err)
	return enc
}

// numbered returns n text inputs "item i: a small text about topic i%7".
func numbered(n int) iter.Seq2[embedding.Input, error] {
	return func(yield func(embedding.Input, error) bool) {
		for i := range n {
			if !yield(embedding.Input{ID: fmt.Sprint(i), Text: fmt.Sprintf("item %d: a small text about topic %d", i, i%7)}, nil) {
				return
			}
		}
	}
}

// recorder collects the fake's requests.
type recorder struct {
	mu   sync.Mutex
	reqs []openaitest.Request
}

func record(srv *openaitest.Server) *recorder {
	r := &recorder{}
	srv.OnRequest(func(req openaitest.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.reqs = append(r.reqs, req)
	})
	return r
}

func (r *recorder) all() []openaitest.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]openaitest.Request(nil), r.reqs...)
}

func texts(in ...string) []embedding.Input {
	out := make([]embedding.Input, len(in))
	for i, s := range in {
		out[i] = embedding.Input{ID: string(rune('a' + i)), Text: s}
	}
	return out
}
