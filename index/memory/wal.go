package memory

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/shoalhq/shoal/index"
)

// Files of a persistent store's directory.
const (
	logName   = "store.wal"
	snapName  = "store.snap"
	lockName  = "LOCK"
	tmpSuffix = ".tmp"
)

// wal is a persistent store's write-ahead log. Appends happen under the
// store's write lock, so the log's order is the order in which writes were
// applied; syncing happens after the store lock is released, and one fsync
// covers every write appended before it (group commit).
//
// Lock order: Store.mu, then syncMu, then mu.
type wal struct {
	dir       string
	sync      bool
	compactAt int64

	syncMu sync.Mutex
	synced uint64 // writes known durable; guarded by syncMu

	mu       sync.Mutex
	f        *os.File
	hdr      fileHeader
	size     int64  // bytes in the log
	appended uint64 // writes appended so far
	failed   error  // sticky: once set, no write is accepted
	snapSize int64  // size of the last snapshot
	nextTry  int64  // after a failed compaction, the size to wait for
}

func (w *wal) path() string { return filepath.Join(w.dir, logName) }

func (w *wal) failure() error {
	return fmt.Errorf("memory: the write-ahead log %s failed earlier, so writes are refused; close and reopen the store: %w",
		w.path(), w.failed)
}

// append writes one framed entry and returns its sequence number for commit.
func (w *wal) append(frame []byte) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed != nil {
		return 0, w.failure()
	}
	n, err := w.f.Write(frame)
	w.size += int64(n)
	if err != nil {
		// The log may now end in part of an entry; a later entry after it
		// would read as corruption, so no more writes go in.
		w.failed = err
		return 0, fmt.Errorf("memory: append to %s: %w", w.path(), err)
	}
	w.appended++
	return w.appended, nil
}

// commit returns once the write numbered seq is durable (at once without
// WithSync).
func (w *wal) commit(seq uint64) error {
	if !w.sync {
		return nil
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.synced >= seq {
		return nil
	}
	w.mu.Lock()
	f, target, failed := w.f, w.appended, w.failed
	w.mu.Unlock()
	if failed != nil {
		return w.failure()
	}
	if err := f.Sync(); err != nil {
		w.mu.Lock()
		w.failed = err
		w.mu.Unlock()
		return fmt.Errorf("memory: sync %s: %w", w.path(), err)
	}
	w.synced = target
	return nil
}

// wantsCompaction reports whether the log has grown past the threshold and
// past the last snapshot.
func (w *wal) wantsCompaction() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wantsLocked()
}

func (w *wal) wantsLocked() bool {
	return w.failed == nil && w.compactAt > 0 && w.size >= w.compactAt && w.size >= w.snapSize && w.size >= w.nextTry
}

// compact writes st as the next snapshot and starts an empty log. The caller
// holds the store's lock (read or write), so no write is appended meanwhile.
// If auto, it does nothing unless wantsCompaction still holds.
func (w *wal) compact(st *state, auto bool) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed != nil {
		return w.failure()
	}
	if auto && !w.wantsLocked() {
		return nil
	}
	h := w.hdr
	h.gen++
	snapSize, err := writeSnapshotFile(w.dir, h, st)
	if err != nil {
		w.nextTry = 2 * w.size
		return err
	}
	// The snapshot holds everything logged so far; from here the old log is
	// stale (its generation is older) and a new one must take its place.
	f, err := createLog(w.dir, h)
	if err != nil {
		w.failed = err
		return fmt.Errorf("memory: start a new log after a snapshot: %w", err)
	}
	_ = w.f.Close() // superseded: every write in it is in the snapshot
	w.f, w.hdr, w.size, w.snapSize, w.nextTry = f, h, fileHeaderSize, snapSize, 0
	w.synced = w.appended
	return nil
}

// close syncs and closes the log.
func (w *wal) close() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	if w.failed == nil {
		if err := w.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync %s: %w", w.path(), err))
		}
	}
	if err := w.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close %s: %w", w.path(), err))
	}
	w.synced = w.appended
	return errors.Join(errs...)
}

// writeSnapshotFile writes st to a temporary file, syncs it and renames it
// over the snapshot, so that the snapshot is always whole. It returns the
// snapshot's size.
func writeSnapshotFile(dir string, h fileHeader, st *state) (int64, error) {
	path := filepath.Join(dir, snapName)
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("memory: snapshot: %w", err)
	}
	fail := func(err error) (int64, error) {
		_ = f.Close()
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("memory: write snapshot %s: %w", tmp, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := writeSnapshot(bw, h, st); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("memory: write snapshot %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("memory: snapshot: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// createLog atomically replaces the log with an empty one and returns it
// open for appending.
func createLog(dir string, h fileHeader) (*os.File, error) {
	path := filepath.Join(dir, logName)
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("memory: create log: %w", err)
	}
	_, err = f.Write(appendFileHeader(nil, walMagic, h))
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("memory: create log %s: %w", path, err)
	}
	return f, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("memory: sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("memory: sync directory %s: %w", dir, err)
	}
	return nil
}

// Open returns a store persisted in dir, creating the directory if needed
// and loading what an earlier store left there: the last snapshot, then the
// write-ahead log. A final log entry that a crash cut short (so it was never
// acknowledged) is dropped; any other damage fails with a [*CorruptError]
// (wrapping [index.ErrCorrupt]) that names the file and offset. The store
// locks dir until Close; a second Open of it fails with [ErrLocked].
//
// The directory remembers the store's metric and dimension: without
// [WithMetric] or [WithDimension] Open uses the stored ones, and with
// different ones it fails with [index.ErrInvalidArgument].
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("memory: %w: empty directory name", index.ErrInvalidArgument)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("memory: open: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := load(ctx, dir, cfg)
	if err != nil {
		_ = unlockDir(lock)
		return nil, err
	}
	s.lock = lock
	return s, nil
}

// openExisting opens path if it exists; f is nil if it does not.
func openExisting(path string, flag int) (f *os.File, size int64, err error) {
	f, err = os.OpenFile(path, flag, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("memory: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("memory: open: %w", err)
	}
	return f, fi.Size(), nil
}

func load(ctx context.Context, dir string, cfg config) (_ *Store, err error) {
	snapPath, logPath := filepath.Join(dir, snapName), filepath.Join(dir, logName)
	for _, p := range []string{snapPath + tmpSuffix, logPath + tmpSuffix} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("memory: remove leftover %s: %w", p, err)
		}
	}
	snapF, snapSize, err := openExisting(snapPath, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	if snapF != nil {
		defer snapF.Close()
	}
	logF, logSize, err := openExisting(logPath, os.O_RDWR|os.O_APPEND)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && logF != nil {
			_ = logF.Close()
		}
	}()

	// The settings on disk: the snapshot's, else the log's.
	var snapHdr, logHdr fileHeader
	if snapF != nil {
		if snapHdr, err = readHeader(io.NewSectionReader(snapF, 0, snapSize), snapPath, snapMagic, snapSize); err != nil {
			return nil, err
		}
	}
	if logF != nil {
		if logHdr, err = readHeader(io.NewSectionReader(logF, 0, logSize), logPath, walMagic, logSize); err != nil {
			return nil, err
		}
	}
	switch {
	case snapF != nil:
		err = adopt(&cfg, snapHdr, dir)
	case logF != nil:
		err = adopt(&cfg, logHdr, dir)
	}
	if err != nil {
		return nil, err
	}

	st := newState(cfg.metric, cfg.dim)
	var gen uint64
	if snapF != nil {
		if _, err := loadSnapshot(ctx, io.NewSectionReader(snapF, 0, snapSize), snapPath, snapSize, st); err != nil {
			return nil, err
		}
		gen = snapHdr.gen
	}
	logEnd := int64(fileHeaderSize)
	if logF != nil && logHdr.gen < gen {
		// Left by a compaction that stopped between writing the snapshot
		// and starting the new log: every entry is in the snapshot.
		_ = logF.Close()
		logF = nil
	}
	if logF != nil {
		if logHdr.gen > gen {
			return nil, &CorruptError{File: logPath, Offset: 0, Reason: fmt.Sprintf(
				"log generation %d follows snapshot generation %d: the snapshot it continues is missing", logHdr.gen, gen)}
		}
		if _, logEnd, err = replayLog(ctx, io.NewSectionReader(logF, 0, logSize), logPath, logSize, st); err != nil {
			return nil, err
		}
		if logEnd < logSize {
			// A torn final entry: never acknowledged, so cut it off
			// before appending after it.
			if err := logF.Truncate(logEnd); err != nil {
				return nil, fmt.Errorf("memory: cut torn entry from %s: %w", logPath, err)
			}
			if err := logF.Sync(); err != nil {
				return nil, fmt.Errorf("memory: sync %s: %w", logPath, err)
			}
		}
	} else {
		if logF, err = createLog(dir, fileHeader{metric: cfg.metric, dim: cfg.dim, gen: gen}); err != nil {
			return nil, err
		}
	}
	return &Store{
		cfg: cfg,
		st:  st,
		log: &wal{
			dir:       dir,
			sync:      cfg.sync,
			compactAt: cfg.compactAt,
			f:         logF,
			hdr:       fileHeader{metric: cfg.metric, dim: cfg.dim, gen: gen},
			size:      logEnd,
			snapSize:  snapSize,
		},
	}, nil
}

// adopt takes the metric and dimension stored in dir, unless the options
// ask for others.
func adopt(cfg *config, h fileHeader, dir string) error {
	if cfg.metricSet && cfg.metric != h.metric {
		return fmt.Errorf("memory: %w: %s holds a store with metric %v, not %v", index.ErrInvalidArgument, dir, h.metric, cfg.metric)
	}
	if cfg.dimSet && cfg.dim != h.dim {
		return fmt.Errorf("memory: %w: %s holds a store with dimension %d, not %d", index.ErrInvalidArgument, dir, h.dim, cfg.dim)
	}
	cfg.metric, cfg.dim = h.metric, h.dim
	return nil
}
