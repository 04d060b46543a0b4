package index_test

import (
	"context"
	"errors"
	"iter"
	"maps"
	"slices"
	"sync"

	"github.com/shoalhq/shoal/index/driver"

	"github.com/shoalhq/shoal/index"
)

// fakeStore is a map-backed index.VectorStore for testing UpsertAll without
// depending on a real store. Its Upsert validates like a real store, can be
// made to fail through hook, and records every call.
type fakeStore struct {
	// hook, if set, runs at the start of every Upsert with the call's number
	// (from 0). An error from it fails the call; written says whether the
	// records are written anyway (a lost acknowledgement).
	hook func(ctx context.Context, call int, recs []index.Record) (written bool, err error)

	mu    sync.Mutex
	calls int
	sizes []int // sizes of the batches that succeeded, in order of completion
	recs  map[string]index.Record
	acks  map[string]int // successful writes per ID
}

func newFakeStore() *fakeStore {
	return &fakeStore{recs: make(map[string]index.Record), acks: make(map[string]int)}
}

func (s *fakeStore) Upsert(ctx context.Context, _ string, recs []index.Record) error {
	valid, err := driver.ValidateRecords(recs, 0)
	if err != nil {
		s.mu.Lock()
		s.calls++
		s.mu.Unlock()
		return err
	}
	return s.send(ctx, recs, valid)
}

// send is Upsert after validation.
func (s *fakeStore) send(ctx context.Context, recs, valid []index.Record) error {
	s.mu.Lock()
	call := s.calls
	s.calls++
	s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.hook != nil {
		if written, err := s.hook(ctx, call, recs); err != nil {
			if written {
				s.write(valid, false)
			}
			return err
		}
	}
	s.write(valid, true)
	return nil
}

func (s *fakeStore) write(recs []index.Record, ack bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.recs[r.ID] = r
		if ack {
			s.acks[r.ID]++
		}
	}
	if ack {
		s.sizes = append(s.sizes, len(recs))
	}
}

func (s *fakeStore) snapshot() (sizes []int, recs map[string]index.Record, acks map[string]int, calls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sizes), maps.Clone(s.recs), maps.Clone(s.acks), s.calls
}

func (s *fakeStore) Query(context.Context, index.Query) ([]index.Match, error) {
	return nil, errors.New("fakeStore: Query is not implemented")
}

func (s *fakeStore) Fetch(_ context.Context, _ string, ids []string) ([]index.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []index.Record
	for _, id := range ids {
		if r, ok := s.recs[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *fakeStore) Delete(_ context.Context, _ string, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.recs, id)
	}
	return nil
}

func (s *fakeStore) Scan(_ context.Context, _ string, f index.Filter) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		s.mu.Lock()
		recs := slices.Collect(maps.Values(s.recs))
		s.mu.Unlock()
		for _, r := range recs {
			if f.Match(r.Metadata) && !yield(r, nil) {
				return
			}
		}
	}
}

func (s *fakeStore) Close() error { return nil }

var _ index.VectorStore = (*fakeStore)(nil)
