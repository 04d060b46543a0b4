package memory

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"slices"
	"sync"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
)

// ErrLocked reports a directory that another open [Store] (in this process
// or another) holds.
var ErrLocked = errors.New("memory: directory is in use by another store")

// Store is the embedded [index.VectorStore]: exact search over vectors kept
// in memory, optionally persisted to a directory. It is safe for concurrent
// use. Create one with [New] or [Open].
type Store struct {
	cfg config

	mu     sync.RWMutex
	closed bool
	st     *state

	log  *wal     // nil for a store that lives in memory only
	lock *os.File // the directory's lock file, or nil
}

var (
	_ index.VectorStore = (*Store)(nil)
	_ index.Namespacer  = (*Store)(nil)
	_ index.Counter     = (*Store)(nil)
)

// New returns a store that lives in memory only; its contents are lost when
// it is closed or the process ends.
func New(opts ...Option) (*Store, error) {
	cfg, err := buildConfig(opts, false)
	if err != nil {
		return nil, err
	}
	return &Store{cfg: cfg, st: cfg.newState()}, nil
}

// Metric returns how the store compares vectors.
func (s *Store) Metric() index.Metric { return s.cfg.metric }

// Dimension returns the store-wide dimension, or 0 when each namespace has
// its own.
func (s *Store) Dimension() int { return s.cfg.dim }

// begin checks what every call checks first: ctx (neither nil nor done),
// the namespace, then whether the store is closed.
func (s *Store) begin(ctx context.Context, namespace string) error {
	if err := driver.CheckCall(ctx, namespace); err != nil {
		return err
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return index.ErrClosed
	}
	return nil
}

// Upsert validates recs (see [driver.ValidateRecords]) and writes them into
// namespace, replacing records with the same IDs. It writes nothing if one
// record is bad and names it in an [*index.ItemError]. Under Cosine a vector
// of zeros is [index.ErrInvalidVector]. On a persistent store the records are
// in the write-ahead log (and synced, with [WithSync]) before Upsert returns
// nil.
func (s *Store) Upsert(ctx context.Context, namespace string, recs []index.Record) error {
	if err := s.begin(ctx, namespace); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	s.mu.RLock()
	dim := s.st.dimFor(namespace)
	s.mu.RUnlock()
	valid, err := driver.ValidateRecords(recs, dim)
	if err != nil {
		return err
	}
	inv, err := inverseNorms(s.cfg.metric, valid)
	if err != nil {
		return err
	}
	var frame []byte
	if s.log != nil {
		e := &entry{op: opUpsert, namespace: namespace, dim: len(valid[0].Vector), recs: valid}
		if frame, err = appendEntry(nil, e); err != nil {
			return err
		}
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return index.ErrClosed
	}
	// Checked again under the lock: the namespace may have been created or
	// emptied since.
	if err := s.st.checkDim(namespace, len(valid[0].Vector)); err != nil {
		s.mu.Unlock()
		return &index.ItemError{Index: 0, ID: valid[0].ID, Err: err}
	}
	var seq uint64
	if s.log != nil {
		if seq, err = s.log.append(frame); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.st.upsert(namespace, valid, inv)
	s.mu.Unlock()
	return s.commit(seq)
}

// commit makes the write numbered seq durable and compacts the log when it
// has grown enough.
func (s *Store) commit(seq uint64) error {
	if s.log == nil {
		return nil
	}
	if err := s.log.commit(seq); err != nil {
		return err
	}
	if s.log.wantsCompaction() {
		// The write is durable already, so a failed compaction is not this
		// caller's error: the log keeps taking writes (or, if the failure
		// left it stale, refuses them), and Close reports the failure.
		_ = s.compact(true)
	}
	return nil
}

// Delete removes ids from namespace; missing IDs (invalid ones included,
// since no record can have them) are ignored.
func (s *Store) Delete(ctx context.Context, namespace string, ids []string) error {
	if err := s.begin(ctx, namespace); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return index.ErrClosed
	}
	sp := s.st.spaces[namespace]
	if sp == nil {
		s.mu.Unlock()
		return nil
	}
	present := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if _, ok := sp.slots[id]; ok && !seen[id] {
			seen[id] = true
			present = append(present, id)
		}
	}
	if len(present) == 0 {
		s.mu.Unlock()
		return nil
	}
	var seq uint64
	if s.log != nil {
		frame, err := appendEntry(nil, &entry{op: opDelete, namespace: namespace, ids: present})
		if err == nil {
			seq, err = s.log.append(frame)
		}
		if err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.st.remove(namespace, present)
	s.mu.Unlock()
	return s.commit(seq)
}

// Fetch returns copies of the records of namespace with the given IDs, in
// the order of ids; missing IDs (invalid ones included, since no record can
// have them) are left out, and an ID given twice is returned once.
func (s *Store) Fetch(ctx context.Context, namespace string, ids []string) ([]index.Record, error) {
	if err := s.begin(ctx, namespace); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, index.ErrClosed
	}
	out := make([]index.Record, 0, len(ids))
	sp := s.st.spaces[namespace]
	if sp == nil {
		return out, nil
	}
	var seen map[string]bool
	for _, id := range ids {
		i, ok := sp.slots[id]
		if !ok {
			continue
		}
		if seen == nil && len(ids) > 1 {
			seen = make(map[string]bool, len(ids))
		}
		if seen != nil {
			if seen[id] {
				continue
			}
			seen[id] = true
		}
		out = append(out, sp.record(i))
	}
	return out, nil
}

// scanPage is how many records Scan copies per lock.
const scanPage = 256

// Scan yields a copy of every record of namespace that f matches, exactly
// once, in no particular order. It lists the namespace's IDs when it starts
// and reads them a page at a time, so the store is not locked while the loop
// body runs (it may call the store): records deleted meanwhile are skipped,
// records added meanwhile are not seen, and an updated record is seen in
// one version. An invalid namespace or filter, a cancelled ctx or a closed
// store end the sequence with an error.
func (s *Store) Scan(ctx context.Context, namespace string, f index.Filter) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		if err := s.begin(ctx, namespace); err != nil {
			yield(index.Record{}, err)
			return
		}
		if err := f.Validate(); err != nil {
			yield(index.Record{}, err)
			return
		}
		s.mu.RLock()
		var ids []string
		if sp := s.st.spaces[namespace]; sp != nil && !s.closed {
			ids = slices.Clone(sp.ids)
		}
		s.mu.RUnlock()

		page := make([]index.Record, 0, min(scanPage, len(ids)))
		for start := 0; start < len(ids); start += scanPage {
			if err := ctx.Err(); err != nil {
				yield(index.Record{}, err)
				return
			}
			page = page[:0]
			s.mu.RLock()
			if s.closed {
				s.mu.RUnlock()
				yield(index.Record{}, index.ErrClosed)
				return
			}
			if sp := s.st.spaces[namespace]; sp != nil {
				for _, id := range ids[start:min(start+scanPage, len(ids))] {
					if i, ok := sp.slots[id]; ok && f.Match(sp.meta[i]) {
						page = append(page, sp.record(i))
					}
				}
			}
			s.mu.RUnlock()
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}

// Count returns the number of records in namespace (0 if it does not exist).
func (s *Store) Count(ctx context.Context, namespace string) (int, error) {
	if err := s.begin(ctx, namespace); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, index.ErrClosed
	}
	if sp := s.st.spaces[namespace]; sp != nil {
		return sp.len(), nil
	}
	return 0, nil
}

// Namespaces returns the names of the namespaces that hold records, sorted.
// A namespace exists from its first Upsert until its last record is deleted.
func (s *Store) Namespaces(ctx context.Context) ([]string, error) {
	if err := s.begin(ctx, ""); err != nil { // "" is always a valid namespace
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, index.ErrClosed
	}
	names := make([]string, 0, len(s.st.spaces))
	for ns := range s.st.spaces {
		names = append(names, ns)
	}
	slices.Sort(names)
	return names, nil
}

// Compact writes a snapshot of a persistent store's contents and starts an
// empty write-ahead log, which makes the next [Open] faster. A store does
// this on its own when the log grows past [WithCompactionThreshold]; Compact
// is for doing it at a time of your choosing. Writes wait while it runs
// (queries too, once a write is waiting). On an in-memory store it does
// nothing.
func (s *Store) Compact(ctx context.Context) error {
	if err := s.begin(ctx, ""); err != nil { // "" is always a valid namespace
		return err
	}
	if s.log == nil {
		return nil
	}
	return s.compact(false)
}

func (s *Store) compact(auto bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return index.ErrClosed
	}
	return s.log.compact(s.st, auto)
}

// Close releases the store. A persistent store syncs and closes its log and
// unlocks its directory; it returns an error if the log failed earlier (so
// that writes were refused) or if the last compaction failed (automatic or
// not, and even when later writes succeeded), so that a full disk is not
// missed. Every later call returns [index.ErrClosed]; Close itself may be
// called again and then returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.st = newState(s.cfg.metric, s.cfg.dim) // let the memory go
	var errs []error
	if s.log != nil {
		errs = append(errs, s.log.close())
	}
	if s.lock != nil {
		errs = append(errs, unlockDir(s.lock))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("memory: close: %w", err)
	}
	return nil
}
