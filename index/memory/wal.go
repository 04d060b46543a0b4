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
	"github.com/shoalhq/shoal/index/driver"
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
	fs        fileSystem
	dir       string
	sync      bool
	compactAt int64

	syncMu sync.Mutex
	synced uint64 // writes known durable; guarded by syncMu

	mu         sync.Mutex
	f          file // opened by its own name, so that errors name it
	hdr        fileHeader
	size       int64  // bytes in the log; the next entry goes here
	appended   uint64 // writes appended so far
	failed     error  // sticky: once set, no write is accepted
	compactErr error  // why the last compaction failed; nil after one succeeds
	snapSize   int64  // size of the last snapshot
	nextTry    int64  // after a failed compaction, the size to wait for
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
	n, err := w.f.WriteAt(frame, w.size)
	w.size += int64(n)
	if err != nil {
		// The log may now end in part of an entry; a later entry after it
		// would read as corruption, so no more writes go in.
		w.failed = err
		return 0, fmt.Errorf("memory: append to the write-ahead log: %w", err)
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
		return fmt.Errorf("memory: sync the write-ahead log: %w", err)
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

// compact writes st as the next snapshot and empties the log. The caller
// holds the store's lock (read or write), so no write is appended meanwhile.
// If auto, it does nothing unless wantsCompaction still holds. A failure is
// remembered for close to report.
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
	w.compactErr = w.compactLocked(st)
	if w.compactErr != nil {
		return fmt.Errorf("memory: compact: %w", w.compactErr)
	}
	return nil
}

// compactLocked does compact's work. Every step keeps the directory
// loadable with every write appended so far, whichever step fails or is the
// last before a crash:
//
//  1. The snapshot of the next generation is written to a temporary file,
//     synced and renamed into place, and the directory synced. Until the
//     rename, the old snapshot and the log hold everything; a failure here
//     changes nothing, and the log keeps taking writes.
//  2. From the rename on, the log is stale: its generation is older than
//     the snapshot's, so Open ignores it (every entry in it is in the
//     snapshot), and it must take no more writes until it is reset. It is
//     reset in place (see resetLog), which needs no new disk space: a
//     compaction that found room for the snapshot on a nearly full disk
//     finishes, and so does a reopen on the disk still full. If the reset
//     fails, writes are refused until the store is reopened, and Open
//     resets the log again.
func (w *wal) compactLocked(st *state) error {
	h := w.hdr
	h.gen++
	snapSize, renamed, err := writeSnapshotFile(w.fs, w.dir, h, st)
	if err != nil && !renamed {
		w.nextTry = 2 * w.size // retry automatically once the log has doubled
		return err
	}
	if err != nil {
		// The snapshot is in place but may not be durable (syncing the
		// directory failed): the log cannot be emptied, and a write
		// appended to it now would be ignored as stale after a reopen.
		w.failed = err
		return err
	}
	// The snapshot is durable and holds every write appended so far.
	w.synced = w.appended
	if err := resetLog(w.f, h); err != nil {
		w.failed = fmt.Errorf("reset the log after a snapshot: %w", err)
		return w.failed
	}
	w.hdr, w.size, w.snapSize, w.nextTry = h, fileHeaderSize, snapSize, 0
	return nil
}

// resetLog empties a stale log in place and gives it the header h, in an
// order that leaves a loadable log after a crash at any step: cut the log to
// its header (whose generation, older than the snapshot's, still marks it
// stale), sync, then overwrite the header and sync again. A crash while the
// header is overwritten can leave a damaged header on a log of no entries,
// which Open also takes for stale. It needs no disk space beyond the block
// the header already has.
func resetLog(f file, h fileHeader) error {
	if err := f.Truncate(fileHeaderSize); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if _, err := f.WriteAt(appendFileHeader(nil, walMagic, h), 0); err != nil {
		return err
	}
	return f.Sync()
}

// close syncs and closes the log. It reports a failure of the log that
// refused writes, or else of the last compaction, even though the caller
// has seen it (or, for an automatic compaction, has not).
func (w *wal) close() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	switch {
	case w.failed != nil:
		errs = append(errs, fmt.Errorf("the write-ahead log %s failed, so writes after it were refused: %w", w.path(), w.failed))
	case w.compactErr != nil:
		errs = append(errs, fmt.Errorf("the last compaction failed: %w", w.compactErr))
	}
	if w.failed == nil {
		if err := w.f.Sync(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := w.f.Close(); err != nil {
		errs = append(errs, err)
	}
	w.synced = w.appended
	return errors.Join(errs...)
}

// writeSnapshotFile writes st to a temporary file, syncs it and renames it
// over the snapshot, so that the snapshot is always whole; then it syncs the
// directory. It returns the snapshot's size, and whether the rename
// happened (with an error, the new snapshot is in place but maybe not
// durable).
func writeSnapshotFile(fsys fileSystem, dir string, h fileHeader, st *state) (size int64, renamed bool, err error) {
	path := filepath.Join(dir, snapName)
	tmp := path + tmpSuffix
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, false, fmt.Errorf("write snapshot: %w", err)
	}
	fail := func(err error) (int64, bool, error) {
		_ = f.Close()
		_ = fsys.Remove(tmp)
		return 0, false, fmt.Errorf("write snapshot: %w", err)
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
		_ = fsys.Remove(tmp)
		return 0, false, fmt.Errorf("write snapshot: %w", err)
	}
	if err := fsys.Rename(tmp, path); err != nil {
		_ = fsys.Remove(tmp)
		return 0, false, fmt.Errorf("write snapshot: %w", err)
	}
	if err := syncDir(fsys, dir); err != nil {
		return 0, true, fmt.Errorf("write snapshot: %w", err)
	}
	return fi.Size(), true, nil
}

// createLog creates an empty log in a directory that has none: it writes the
// header to a temporary file, syncs it and renames it into place (so that a
// crash never leaves a log cut inside its header), and returns the log
// opened under its own name for reading and writing.
func createLog(fsys fileSystem, dir string, h fileHeader) (file, error) {
	path := filepath.Join(dir, logName)
	tmp := path + tmpSuffix
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create the write-ahead log: %w", err)
	}
	_, err = f.WriteAt(appendFileHeader(nil, walMagic, h), 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, path)
	}
	if err != nil {
		_ = fsys.Remove(tmp)
		return nil, fmt.Errorf("create the write-ahead log: %w", err)
	}
	if err := syncDir(fsys, dir); err != nil {
		return nil, fmt.Errorf("create the write-ahead log: %w", err)
	}
	if f, err = fsys.OpenFile(path, os.O_RDWR, 0); err != nil {
		return nil, fmt.Errorf("open the new write-ahead log: %w", err)
	}
	return f, nil
}

func syncDir(fsys fileSystem, dir string) error {
	d, err := fsys.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Open returns a store persisted in dir, creating the directory if needed
// and loading what an earlier store left there: the last snapshot, then the
// write-ahead log. A final log entry that a crash cut short (so it was never
// acknowledged) is dropped; any other damage fails with a [*CorruptError]
// (wrapping [index.ErrCorrupt]) that names the file and offset. The store
// locks dir until Close; a second Open of it fails with [ErrLocked]. Open
// needs no free disk space for a directory that holds a log, so a store
// reopens on a full disk.
//
// The directory remembers the store's metric and dimension: without
// [WithMetric] or [WithDimension] Open uses the stored ones, and with
// different ones it fails with [index.ErrInvalidArgument].
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: memory.Open: nil context", index.ErrInvalidArgument)
	}
	if err := driver.ContextError(ctx); err != nil {
		return nil, err
	}
	cfg, err := buildConfig(opts, true)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: memory.Open: empty directory name", index.ErrInvalidArgument)
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
func openExisting(fsys fileSystem, path string, flag int) (f file, size int64, err error) {
	f, err = fsys.OpenFile(path, flag, 0)
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
	fsys := cfg.fs
	snapPath, logPath := filepath.Join(dir, snapName), filepath.Join(dir, logName)
	for _, p := range []string{snapPath + tmpSuffix, logPath + tmpSuffix} {
		if err := fsys.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("memory: remove leftover %s: %w", p, err)
		}
	}
	snapF, snapSize, err := openExisting(fsys, snapPath, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	if snapF != nil {
		defer snapF.Close()
	}
	logF, logSize, err := openExisting(fsys, logPath, os.O_RDWR)
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
	stale := false // the log holds nothing the snapshot lacks
	if logF != nil {
		logHdr, err = readHeader(io.NewSectionReader(logF, 0, logSize), logPath, walMagic, logSize)
		var ce *CorruptError
		switch {
		case err == nil:
		case errors.As(err, &ce) && snapF != nil && logSize == fileHeaderSize:
			// A damaged header and no entries: what a crash while
			// resetLog overwrites the header can leave. Nothing is lost
			// by resetting it again.
			stale = true
		default:
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

	st := cfg.newState()
	var gen uint64
	if snapF != nil {
		if _, err := loadSnapshot(ctx, io.NewSectionReader(snapF, 0, snapSize), snapPath, snapSize, st); err != nil {
			return nil, err
		}
		gen = snapHdr.gen
	}
	hdr := fileHeader{metric: cfg.metric, dim: cfg.dim, gen: gen}
	logEnd := int64(fileHeaderSize)
	switch {
	case logF == nil:
		if logF, err = createLog(fsys, dir, hdr); err != nil {
			return nil, fmt.Errorf("memory: open: %w", err)
		}
	case stale || logHdr.gen < gen:
		// Left by a compaction that stopped after renaming the snapshot
		// into place: every entry is in the snapshot. Reset in place, as
		// the compaction would have, which needs no free space.
		if err := resetLog(logF, hdr); err != nil {
			return nil, fmt.Errorf("memory: open: reset the stale write-ahead log: %w", err)
		}
	case logHdr.gen > gen:
		return nil, &CorruptError{File: logPath, Offset: 0, Reason: fmt.Sprintf(
			"log generation %d follows snapshot generation %d: the snapshot it continues is missing", logHdr.gen, gen)}
	default:
		if _, logEnd, err = replayLog(ctx, io.NewSectionReader(logF, 0, logSize), logPath, logSize, st); err != nil {
			return nil, err
		}
		if logEnd < logSize {
			// A torn final entry: never acknowledged, so cut it off
			// before appending after it.
			if err := logF.Truncate(logEnd); err != nil {
				return nil, fmt.Errorf("memory: open: cut a torn entry: %w", err)
			}
			if err := logF.Sync(); err != nil {
				return nil, fmt.Errorf("memory: open: %w", err)
			}
		}
	}
	return &Store{
		cfg: cfg,
		st:  st,
		log: &wal{
			fs:        fsys,
			dir:       dir,
			sync:      cfg.sync,
			compactAt: cfg.compactAt,
			f:         logF,
			hdr:       hdr,
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
