package memory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

// faultMode is how a faultFS fails from its chosen operation on.
type faultMode int

const (
	// faultOnce fails the one operation with ENOSPC (a write writes half
	// of its bytes first, as a disk filling up mid-write does).
	faultOnce faultMode = iota
	// faultFull fails, from the chosen operation on, every write that
	// would grow a file and every file creation, with ENOSPC: a full disk.
	// Truncating, renaming, removing, syncing and writing inside a file
	// still work.
	faultFull
	// faultCrash fails the operation and every one after it that changes
	// or syncs a file, as if the process had been killed there: what it
	// wrote before stays (in the page cache) and nothing more does.
	faultCrash
)

func (m faultMode) String() string { return [...]string{"once", "full", "crash"}[m] }

var errCrashed = errors.New("injected crash")

// faultFS is the operating system's file system with one fault injected at
// the failAt-th operation that changes or syncs a file (1-based; 0 for
// none).
type faultFS struct {
	mode faultMode

	mu     sync.Mutex
	ops    int
	failAt int
	failed bool     // the fault has happened
	trace  []string // operations, for messages
}

func withFS(f fileSystem) Option {
	return func(c *config) error { c.fs = f; return nil }
}

// op counts an operation and returns the error it must fail with, if any.
// grows tells whether it needs new space.
func (f *faultFS) op(name, path string, grows bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops++
	f.trace = append(f.trace, fmt.Sprintf("%d %s %s", f.ops, name, filepath.Base(path)))
	hit := f.failAt > 0 && f.ops >= f.failAt
	switch {
	case !hit:
		return nil
	case f.mode == faultOnce && f.failed:
		return nil
	case f.mode == faultFull && !grows:
		return nil
	}
	f.failed = true
	if f.mode == faultCrash {
		return errCrashed
	}
	return syscall.ENOSPC
}

func (f *faultFS) OpenFile(name string, flag int, perm fs.FileMode) (file, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC) != 0 {
		_, statErr := os.Stat(name)
		if err := f.op("open", name, flag&os.O_CREATE != 0 && statErr != nil); err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
	of, err := osFS{}.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{file: of, fs: f}, nil
}

func (f *faultFS) Rename(oldpath, newpath string) error {
	if err := f.op("rename", newpath, false); err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return os.Rename(oldpath, newpath)
}

func (f *faultFS) Remove(name string) error {
	if err := f.op("remove", name, false); err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	return os.Remove(name)
}

type faultFile struct {
	file
	fs *faultFS
}

func (f *faultFile) size() int64 {
	fi, err := f.file.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (f *faultFile) Write(p []byte) (int, error) {
	return f.WriteAt(p, f.size()) // the store writes files front to back
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.op("write", f.Name(), off+int64(len(p)) > f.size()); err != nil {
		n := 0
		if !errors.Is(err, errCrashed) {
			n, _ = f.file.WriteAt(p[:len(p)/2], off)
		}
		return n, &fs.PathError{Op: "write", Path: f.Name(), Err: err}
	}
	return f.file.WriteAt(p, off)
}

func (f *faultFile) Sync() error {
	if err := f.fs.op("sync", f.Name(), false); err != nil {
		return &fs.PathError{Op: "sync", Path: f.Name(), Err: err}
	}
	return f.file.Sync()
}

func (f *faultFile) Truncate(size int64) error {
	if err := f.fs.op("truncate", f.Name(), false); err != nil {
		return &fs.PathError{Op: "truncate", Path: f.Name(), Err: err}
	}
	return f.file.Truncate(size)
}

// compactionHistory writes what a stale log must not be replayed over:
// records, an overwrite, deletes that empty a namespace and a new
// dimension for it.
func compactionHistory(t *testing.T, s *Store) map[string]index.Record {
	t.Helper()
	ctx := t.Context()
	want := map[string]index.Record{}
	for i := range 20 {
		r := testRecord(i, 4)
		require.NoError(t, s.Upsert(ctx, "a", []index.Record{r}))
		want["a/"+r.ID] = r
	}
	r := testRecord(3, 4)
	r.Metadata = index.Metadata{"overwritten": true}
	require.NoError(t, s.Upsert(ctx, "a", []index.Record{r}))
	want["a/"+r.ID] = r
	require.NoError(t, s.Upsert(ctx, "b", []index.Record{testRecord(0, 2)}))
	require.NoError(t, s.Delete(ctx, "b", []string{testRecord(0, 2).ID}))
	r = testRecord(1, 3)
	require.NoError(t, s.Upsert(ctx, "b", []index.Record{r}))
	want["b/"+r.ID] = r
	return want
}

// contents returns every record of s, keyed by namespace and ID.
func contents(t *testing.T, s *Store) map[string]index.Record {
	t.Helper()
	out := map[string]index.Record{}
	names, err := s.Namespaces(t.Context())
	require.NoError(t, err)
	for _, ns := range names {
		for r, err := range s.Scan(t.Context(), ns, index.Filter{}) {
			require.NoError(t, err)
			out[ns+"/"+r.ID] = r
		}
	}
	return out
}

// TestCompactionFaultAtEveryStep fails each file operation of a compaction
// in turn (and of a write after it), in each fault mode: once with ENOSPC,
// on a disk that stays full (reopened still full), and as a crash of the
// process. Whatever step fails, Close reports a failed compaction, Open
// succeeds, every acknowledged write is there (and nothing else, but the
// one unacknowledged write), and the reopened store takes writes.
func TestCompactionFaultAtEveryStep(t *testing.T) {
	t.Parallel()
	for _, mode := range []faultMode{faultOnce, faultFull, faultCrash} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			for step := 1; ; step++ {
				if compactionFault(t, mode, step) {
					break
				}
				require.Less(t, step, 100, "the compaction never finished without a fault")
			}
		})
	}
}

// compactionFault runs one case of TestCompactionFaultAtEveryStep and
// reports whether the compaction and the write after it ran out of steps
// before the fault.
func compactionFault(t *testing.T, mode faultMode, step int) (done bool) {
	ctx := t.Context()
	dir := t.TempDir()
	ffs := &faultFS{mode: mode}
	s, err := Open(ctx, dir, withFS(ffs), WithCompactionThreshold(0), WithMetric(index.DotProduct))
	require.NoError(t, err)
	want := compactionHistory(t, s)

	ffs.mu.Lock()
	ffs.failAt = ffs.ops + step
	start := len(ffs.trace)
	ffs.mu.Unlock()
	compactErr := s.Compact(ctx)
	late := testRecord(99, 4)
	lateErr := s.Upsert(ctx, "a", []index.Record{late})
	if lateErr == nil {
		want["a/"+late.ID] = late
	}
	closeErr := s.Close()

	ffs.mu.Lock()
	done, trace := !ffs.failed, slices.Clone(ffs.trace[start:])
	ffs.mu.Unlock()
	msg := fmt.Sprintf("%s at step %d of %q: Compact: %v; late write: %v; Close: %v", mode, step, trace, compactErr, lateErr, closeErr)
	if compactErr != nil {
		require.Error(t, closeErr, "Close must report the failed compaction\n%s", msg)
	}
	if done {
		require.NoError(t, compactErr, msg)
		require.NoError(t, lateErr, msg)
		require.NoError(t, closeErr, msg)
	}

	// Reopen: a crashed process's successor sees the real disk; a full
	// disk is still full.
	var opts []Option
	if mode == faultFull {
		opts = append(opts, withFS(ffs))
	}
	s, err = Open(ctx, dir, opts...)
	require.NoError(t, err, "reopen\n%s", msg)
	got := contents(t, s)
	if lateErr != nil {
		delete(got, "a/"+late.ID) // it may be there or not: not acknowledged
	}
	require.Len(t, got, len(want), msg)
	for k, w := range want {
		g, ok := got[k]
		require.True(t, ok, "acknowledged record %s lost\n%s", k, msg)
		require.Equal(t, w, g, "record %s\n%s", k, msg)
	}
	if mode == faultFull {
		require.NoError(t, s.Close())
		s, err = Open(ctx, dir) // space again
		require.NoError(t, err, msg)
	}
	more := testRecord(100, 4)
	require.NoError(t, s.Upsert(ctx, "a", []index.Record{more}), msg)
	require.NoError(t, s.Compact(ctx), msg)
	require.NoError(t, s.Close(), msg)
	s, err = Open(ctx, dir)
	require.NoError(t, err, msg)
	defer s.Close()
	got = contents(t, s)
	assert.Contains(t, got, "a/"+more.ID, msg)
	return done
}

// TestErrorsNameTheLog makes a write to the log and its sync fail, on a new
// store (whose log was created under a temporary name and renamed), on a
// reopened one and after a compaction (which resets the log in place): each
// error names the log by its real name.
func TestErrorsNameTheLog(t *testing.T) {
	t.Parallel()
	setups := map[string]func(t *testing.T, dir string, ffs *faultFS) *Store{
		"new store": func(t *testing.T, dir string, ffs *faultFS) *Store {
			s, err := Open(t.Context(), dir, withFS(ffs))
			require.NoError(t, err)
			return s
		},
		"reopened store": func(t *testing.T, dir string, ffs *faultFS) *Store {
			s, err := Open(t.Context(), dir)
			require.NoError(t, err)
			require.NoError(t, s.Upsert(t.Context(), "ns", []index.Record{testRecord(0, 3)}))
			require.NoError(t, s.Close())
			s, err = Open(t.Context(), dir, withFS(ffs))
			require.NoError(t, err)
			return s
		},
		"after compaction": func(t *testing.T, dir string, ffs *faultFS) *Store {
			s, err := Open(t.Context(), dir, withFS(ffs))
			require.NoError(t, err)
			require.NoError(t, s.Upsert(t.Context(), "ns", []index.Record{testRecord(0, 3)}))
			require.NoError(t, s.Compact(t.Context()))
			return s
		},
	}
	for name, setup := range setups {
		for _, op := range []string{"write", "sync"} {
			t.Run(name+"/"+op, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				ffs := &faultFS{mode: faultOnce}
				s := setup(t, dir, ffs)
				defer s.Close()
				ffs.mu.Lock()
				ffs.failAt = ffs.ops + 1 // the append's write
				if op == "sync" {
					ffs.failAt++ // its sync
				}
				ffs.mu.Unlock()
				err := s.Upsert(t.Context(), "ns", []index.Record{testRecord(1, 3)})
				require.ErrorIs(t, err, syscall.ENOSPC)
				var pe *fs.PathError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, op, pe.Op)
				assert.Equal(t, filepath.Join(dir, logName), pe.Path, "the file named in %q", err)
				err = s.Close()
				require.ErrorAs(t, err, &pe, "Close reports the failure")
				assert.Equal(t, filepath.Join(dir, logName), pe.Path, "the file named in %q", err)
			})
		}
	}
}

// TestDamagedHeaderOfEmptiedLog damages the header of a log that holds no
// entries, as a crash while a compaction overwrites it can: with a snapshot
// beside it nothing is lost, and Open resets the log; without one it is
// corruption.
func TestDamagedHeaderOfEmptiedLog(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, snapshot := range []bool{true, false} {
		t.Run(fmt.Sprint("snapshot ", snapshot), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s, err := Open(ctx, dir, WithMetric(index.Euclidean))
			require.NoError(t, err)
			if snapshot {
				require.NoError(t, s.Upsert(ctx, "ns", []index.Record{testRecord(0, 3)}))
				require.NoError(t, s.Compact(ctx))
			}
			require.NoError(t, s.Close())
			logPath := filepath.Join(dir, logName)
			b, err := os.ReadFile(logPath)
			require.NoError(t, err)
			require.Len(t, b, fileHeaderSize, "a log of no entries")
			b[20] ^= 0xff // the generation
			require.NoError(t, os.WriteFile(logPath, b, 0o644))

			s, err = Open(ctx, dir)
			if !snapshot {
				var ce *CorruptError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, logPath, ce.File)
				return
			}
			require.NoError(t, err)
			got, err := s.Fetch(ctx, "ns", []string{testRecord(0, 3).ID})
			require.NoError(t, err)
			assert.Len(t, got, 1)
			require.NoError(t, s.Upsert(ctx, "ns", []index.Record{testRecord(1, 3)}))
			require.NoError(t, s.Close())
			s, err = Open(ctx, dir)
			require.NoError(t, err)
			defer s.Close()
			n, err := s.Count(ctx, "ns")
			require.NoError(t, err)
			assert.Equal(t, 2, n)
		})
	}
}
