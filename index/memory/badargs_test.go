package memory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
	"github.com/shoalhq/shoal/index/memory"
)

// TestNilContext passes a nil context to every call that takes one, on an
// in-memory and a persistent store: each returns an error wrapping
// index.ErrInvalidArgument instead of panicking.
func TestNilContext(t *testing.T) {
	t.Parallel()
	var nilCtx context.Context // a variable, so that vet does not object
	rec := index.Record{ID: "a", Vector: []float32{1, 2}}
	calls := []struct {
		name string
		call func(s *memory.Store) error
	}{
		{"Upsert", func(s *memory.Store) error { return s.Upsert(nilCtx, "ns", []index.Record{rec}) }},
		{"Query", func(s *memory.Store) error {
			_, err := s.Query(nilCtx, index.Query{Namespace: "ns", Vector: rec.Vector, TopK: 1})
			return err
		}},
		{"Fetch", func(s *memory.Store) error { _, err := s.Fetch(nilCtx, "ns", []string{"a"}); return err }},
		{"Delete", func(s *memory.Store) error { return s.Delete(nilCtx, "ns", []string{"a"}) }},
		{"Scan", func(s *memory.Store) error { _, err := indextest.ScanAll(nilCtx, s, "ns", index.Filter{}); return err }},
		{"Count", func(s *memory.Store) error { _, err := s.Count(nilCtx, "ns"); return err }},
		{"Namespaces", func(s *memory.Store) error { _, err := s.Namespaces(nilCtx); return err }},
		{"Compact", func(s *memory.Store) error { return s.Compact(nilCtx) }},
	}
	stores := map[string]func(t *testing.T) *memory.Store{
		"InMemory": func(t *testing.T) *memory.Store { return newMem(t) },
		"OnDisk":   func(t *testing.T) *memory.Store { return openDir(t, t.TempDir()) },
	}
	for kind, newStore := range stores {
		for _, c := range calls {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				s := newStore(t)
				assert.NoError(t, s.Upsert(t.Context(), "ns", []index.Record{rec}))
				var err error
				assert.NotPanics(t, func() { err = c.call(s) })
				assert.ErrorIs(t, err, index.ErrInvalidArgument)
				assert.ErrorContains(t, err, "nil context")
				// The store is unharmed.
				got, ferr := s.Fetch(t.Context(), "ns", []string{"a"})
				assert.NoError(t, ferr)
				assert.Len(t, got, 1)
			})
		}
	}
	t.Run("Open", func(t *testing.T) {
		t.Parallel()
		var err error
		assert.NotPanics(t, func() { _, err = memory.Open(nilCtx, t.TempDir()) })
		assert.ErrorIs(t, err, index.ErrInvalidArgument)
		assert.ErrorContains(t, err, "nil context")
	})
}
