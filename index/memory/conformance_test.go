package memory_test

import (
	"context"
	"iter"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
	"github.com/shoalhq/shoal/index/memory"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	t.Run("InMemory", func(t *testing.T) {
		t.Parallel()
		indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
			s, err := memory.New(memory.WithMetric(cfg.Metric))
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
	t.Run("InMemoryParallelScan", func(t *testing.T) {
		t.Parallel()
		// Every query takes the parallel path, however small the namespace.
		indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
			s, err := memory.New(memory.WithMetric(cfg.Metric), memory.WithParallelThreshold(1), memory.WithParallelism(3))
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
	t.Run("OnDisk", func(t *testing.T) {
		t.Parallel()
		indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
			s, err := memory.Open(t.Context(), t.TempDir(), memory.WithMetric(cfg.Metric))
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
	t.Run("OnDiskReopened", func(t *testing.T) {
		t.Parallel()
		indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
			return newReopeningStore(t, t.TempDir(),
				memory.WithMetric(cfg.Metric), memory.WithSync(false), memory.WithCompactionThreshold(1<<10))
		})
	})
}

// reopeningStore closes its persistent store and opens the directory again
// after every few writes (compacting every other time), so that every case of
// the suite also checks what survives a reopen.
type reopeningStore struct {
	t    *testing.T
	dir  string
	opts []memory.Option

	mu     sync.RWMutex // held for reading by calls, for writing to reopen
	cur    *memory.Store
	writes int
	scans  int // scans in progress; no reopen under them
	closed bool
}

var (
	_ index.Namespacer = (*reopeningStore)(nil)
	_ index.Counter    = (*reopeningStore)(nil)
)

const reopenEvery = 3

func newReopeningStore(t *testing.T, dir string, opts ...memory.Option) *reopeningStore {
	s, err := memory.Open(t.Context(), dir, opts...)
	require.NoError(t, err)
	r := &reopeningStore{t: t, dir: dir, opts: opts, cur: s}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// with runs fn on the current store, which no reopen closes meanwhile.
func with[T any](r *reopeningStore, fn func(s *memory.Store) (T, error)) (T, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return fn(r.cur)
}

// wrote counts a successful write and reopens the store every reopenEvery.
func (r *reopeningStore) wrote() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	if r.closed || r.scans > 0 || r.writes%reopenEvery != 0 {
		return
	}
	if r.writes%(2*reopenEvery) == 0 {
		require.NoError(r.t, r.cur.Compact(context.Background()))
	}
	require.NoError(r.t, r.cur.Close())
	s, err := memory.Open(context.Background(), r.dir, r.opts...)
	require.NoError(r.t, err, "reopen")
	r.cur = s
}

func (r *reopeningStore) Upsert(ctx context.Context, ns string, recs []index.Record) error {
	_, err := with(r, func(s *memory.Store) (struct{}, error) { return struct{}{}, s.Upsert(ctx, ns, recs) })
	if err == nil && len(recs) > 0 {
		r.wrote()
	}
	return err
}

func (r *reopeningStore) Delete(ctx context.Context, ns string, ids []string) error {
	_, err := with(r, func(s *memory.Store) (struct{}, error) { return struct{}{}, s.Delete(ctx, ns, ids) })
	if err == nil && len(ids) > 0 {
		r.wrote()
	}
	return err
}

func (r *reopeningStore) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	return with(r, func(s *memory.Store) ([]index.Match, error) { return s.Query(ctx, q) })
}

func (r *reopeningStore) Fetch(ctx context.Context, ns string, ids []string) ([]index.Record, error) {
	return with(r, func(s *memory.Store) ([]index.Record, error) { return s.Fetch(ctx, ns, ids) })
}

func (r *reopeningStore) Scan(ctx context.Context, ns string, f index.Filter) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		r.mu.Lock()
		r.scans++
		s := r.cur
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			r.scans--
			r.mu.Unlock()
		}()
		for rec, err := range s.Scan(ctx, ns, f) {
			if !yield(rec, err) {
				return
			}
		}
	}
}

func (r *reopeningStore) Count(ctx context.Context, ns string) (int, error) {
	return with(r, func(s *memory.Store) (int, error) { return s.Count(ctx, ns) })
}

func (r *reopeningStore) Namespaces(ctx context.Context) ([]string, error) {
	return with(r, func(s *memory.Store) ([]string, error) { return s.Namespaces(ctx) })
}

func (r *reopeningStore) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return r.cur.Close()
}

// hnswRecallTarget is the recall@10 that TestConformanceHNSW demands of the
// graph in the conformance suite's recall mode (indextest.WithRecall). The
// exact stores of TestConformance run the suite in exact mode: recall 1.
const hnswRecallTarget = 0.95
