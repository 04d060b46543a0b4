package search_test

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// mapStore is a small exact index.VectorStore over maps, used to test the
// Searcher against the bare interface and to record the calls it makes.
type mapStore struct {
	metric index.Metric

	mu      sync.Mutex
	data    map[string]map[string]index.Record
	dims    map[string]int
	queries []index.Query
	fetches int
	closed  bool
	// onQuery, if set, runs at the start of every Query.
	onQuery func(ctx context.Context, q index.Query) error
}

func newMapStore(m index.Metric) *mapStore {
	return &mapStore{metric: m, data: map[string]map[string]index.Record{}, dims: map[string]int{}}
}

func (s *mapStore) Upsert(ctx context.Context, ns string, recs []index.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return index.ErrClosed
	}
	out, err := driver.ValidateRecords(recs, s.dims[ns])
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return nil
	}
	if s.data[ns] == nil {
		s.data[ns] = map[string]index.Record{}
		s.dims[ns] = len(out[0].Vector)
	}
	for _, r := range out {
		if s.metric == index.Cosine {
			vecmath.Normalize(r.Vector)
		}
		s.data[ns][r.ID] = r
	}
	return nil
}

func (s *mapStore) score(a, b []float32) float32 {
	switch s.metric {
	case index.Euclidean:
		return -vecmath.SquaredL2(a, b)
	case index.Cosine:
		return vecmath.Dot(a, vecmath.Normalized(b))
	}
	return vecmath.Dot(a, b)
}

func (s *mapStore) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	if s.onQuery != nil {
		if err := s.onQuery(ctx, q); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, index.ErrClosed
	}
	s.queries = append(s.queries, q)
	if err := driver.ValidateQuery(q, s.dims[q.Namespace]); err != nil {
		return nil, err
	}
	var ms []index.Match
	for _, r := range s.data[q.Namespace] {
		if !q.Filter.Match(r.Metadata) {
			continue
		}
		m := index.Match{ID: r.ID, Score: s.score(r.Vector, q.Vector), Metadata: r.Metadata.Clone()}
		if q.IncludeVectors {
			m.Vector = slices.Clone(r.Vector)
		}
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b index.Match) int {
		if a.Score != b.Score {
			return cmp.Compare(b.Score, a.Score)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(ms) > q.TopK {
		ms = ms[:q.TopK]
	}
	return ms, nil
}

func (s *mapStore) Fetch(ctx context.Context, ns string, ids []string) ([]index.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, index.ErrClosed
	}
	s.fetches++
	var out []index.Record
	for _, id := range ids {
		if r, ok := s.data[ns][id]; ok {
			out = append(out, index.Record{ID: r.ID, Vector: slices.Clone(r.Vector), Metadata: r.Metadata.Clone()})
		}
	}
	return out, nil
}

func (s *mapStore) Delete(ctx context.Context, ns string, ids []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return index.ErrClosed
	}
	for _, id := range ids {
		delete(s.data[ns], id)
	}
	return nil
}

func (s *mapStore) Scan(ctx context.Context, ns string, f index.Filter) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		s.mu.Lock()
		var recs []index.Record
		for _, r := range s.data[ns] {
			if f.Match(r.Metadata) {
				recs = append(recs, r)
			}
		}
		s.mu.Unlock()
		for _, r := range recs {
			if err := ctx.Err(); err != nil {
				yield(index.Record{}, err)
				return
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

func (s *mapStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// calls returns the queries recorded so far and the number of fetches.
func (s *mapStore) calls() ([]index.Query, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries), s.fetches
}

func (s *mapStore) String() string { return fmt.Sprintf("mapStore(%v)", s.metric) }
