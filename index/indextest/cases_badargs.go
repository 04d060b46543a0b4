package indextest

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shoalhq/shoal/index"
)

// testBadArguments checks that no call panics on a bad argument: a nil
// context, or a vector whose scores would overflow float32 (issue 20,
// defects 12 and 15). Each gets an error wrapping index.ErrInvalidArgument,
// and the store is still usable after them.
func testBadArguments(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	good := rec("a", constVec(cfg.Dim, 1, 0.5), index.Metadata{"k": "v"})
	var nilCtx context.Context
	calls := map[string]func() error{
		"Upsert": func() error { return s.Upsert(nilCtx, ns, []index.Record{good}) },
		"Query": func() error {
			_, err := s.Query(nilCtx, index.Query{Namespace: ns, Vector: good.Vector, TopK: 1})
			return err
		},
		"Fetch":  func() error { _, err := s.Fetch(nilCtx, ns, []string{"a"}); return err },
		"Delete": func() error { return s.Delete(nilCtx, ns, []string{"a"}) },
		"Scan": func() error {
			for _, err := range s.Scan(nilCtx, ns, index.Filter{}) {
				return err
			}
			return nil
		},
	}
	if c, ok := s.(index.Counter); ok {
		calls["Count"] = func() error { _, err := c.Count(nilCtx, ns); return err }
	}
	for name, call := range calls {
		var err error
		assert.NotPanics(t, func() { err = call() }, "%s with a nil context", name)
		assert.ErrorIs(t, err, index.ErrInvalidArgument, "%s with a nil context", name)
	}

	// A finite vector whose norm is so large that its scores overflow
	// float32 would silently drop out of every ranking: it is refused.
	huge := constVec(cfg.Dim, 3e38, 3e38)
	err := s.Upsert(t.Context(), ns, []index.Record{rec("huge", huge, nil)})
	assert.ErrorIs(t, err, index.ErrInvalidVector, "a vector of norm %.2g", float64(3e38)*math.Sqrt(float64(cfg.Dim)))
	_, err = s.Query(t.Context(), index.Query{Namespace: ns, Vector: huge, TopK: 1})
	assert.ErrorIs(t, err, index.ErrInvalidVector, "a query vector of huge norm")

	// The store still works.
	upsert(t, s, ns, good)
	ms := query(t, s, index.Query{Namespace: ns, Vector: good.Vector, TopK: 1})
	if assert.Len(t, ms, 1) {
		assert.Equal(t, "a", ms[0].ID)
	}
}
