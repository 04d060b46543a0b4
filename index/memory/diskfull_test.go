//go:build linux

package memory_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
	"github.com/shoalhq/shoal/index/memory"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory, unmounted when
// the test ends, or skips the test where it cannot (not root, no tmpfs).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// freeBlocks returns the free blocks of the file system holding dir, and
// their size.
func freeBlocks(t *testing.T, dir string) (blocks, size int64) {
	t.Helper()
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	return int64(st.Bavail), st.Bsize
}

// fillTo writes a file into dir that leaves exactly blocks free blocks.
func fillTo(t *testing.T, dir string, blocks int64) string {
	t.Helper()
	free, bsize := freeBlocks(t, dir)
	require.GreaterOrEqual(t, free, blocks, "not enough space to leave %d blocks free", blocks)
	path := filepath.Join(dir, "filler")
	require.NoError(t, os.WriteFile(path, make([]byte, (free-blocks)*bsize), 0o644))
	free, _ = freeBlocks(t, dir)
	require.Equal(t, blocks, free, "free blocks after the filler")
	return path
}

// TestCompactionOnFullTmpfs compacts a store on a 2 MiB tmpfs filled so that
// only about the new snapshot fits, for each amount of free space around its
// size: whatever step runs out of space, Close reports the failed
// compaction, the store reopens on the still-full disk, and every
// acknowledged write is there.
func TestCompactionOnFullTmpfs(t *testing.T) {
	t.Parallel()
	mnt := mountTmpfs(t, 2<<20)
	ctx := t.Context()
	recs := indextest.RandomRecords(5, 300, 32) // a snapshot of ~40 KiB

	// The snapshot's size, in blocks, measured on the same file system.
	probe := filepath.Join(mnt, "probe")
	s, err := memory.Open(ctx, probe, memory.WithCompactionThreshold(0))
	require.NoError(t, err)
	require.NoError(t, s.Upsert(ctx, "ns", recs))
	require.NoError(t, s.Compact(ctx))
	require.NoError(t, s.Close())
	fi, err := os.Stat(filepath.Join(probe, "store.snap"))
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(probe))
	_, bsize := freeBlocks(t, mnt)
	snapBlocks := (fi.Size() + bsize - 1) / bsize

	for extra := int64(-1); extra <= 2; extra++ {
		t.Run(fmt.Sprintf("snapshot%+d blocks free", extra), func(t *testing.T) {
			dir := filepath.Join(mnt, fmt.Sprint("store", extra))
			t.Cleanup(func() { // runs last: the next case needs the space
				_ = os.RemoveAll(dir)
				_ = os.Remove(filepath.Join(mnt, "filler"))
			})
			s, err := memory.Open(ctx, dir, memory.WithCompactionThreshold(0))
			require.NoError(t, err)
			require.NoError(t, s.Upsert(ctx, "ns", recs))
			want := map[string]bool{}
			for _, r := range recs {
				want[r.ID] = true
			}
			filler := fillTo(t, mnt, snapBlocks+extra)

			compactErr := s.Compact(ctx)
			late := indextest.RandomRecords(6, 1, 32)[0]
			late.ID = "late"
			if err := s.Upsert(ctx, "ns", []index.Record{late}); err == nil {
				want[late.ID] = true
			}
			closeErr := s.Close()
			t.Logf("Compact: %v; Close: %v; late write acknowledged: %v", compactErr, closeErr, want[late.ID])
			if compactErr != nil {
				assert.Error(t, closeErr, "Close must report the failed compaction")
			}

			s, err = memory.Open(ctx, dir) // on the still-full disk
			require.NoError(t, err, "reopen on the full disk")
			got := fetchAll(t, s, "ns")
			for id := range want {
				assert.Contains(t, got, id, "acknowledged record lost")
			}
			assert.Len(t, got, len(want))
			require.NoError(t, s.Close())

			// With space again, the store takes writes and keeps them.
			require.NoError(t, os.Remove(filler))
			s = openDir(t, dir)
			extraRec := late
			extraRec.ID = "after"
			require.NoError(t, s.Upsert(ctx, "ns", []index.Record{extraRec}))
			require.NoError(t, s.Compact(ctx))
			s = reopen(t, s, dir)
			assert.Len(t, fetchAll(t, s, "ns"), len(want)+1)
		})
	}
}

// TestWritesUntilTmpfsIsFull writes with automatic compaction into a store
// on a 2 MiB tmpfs until the disk is full: the failed write's error names
// the log by its real name, and the store reopens on the full disk with
// every acknowledged write.
func TestWritesUntilTmpfsIsFull(t *testing.T) {
	t.Parallel()
	mnt := mountTmpfs(t, 2<<20)
	ctx := t.Context()
	dir := filepath.Join(mnt, "store")
	s, err := memory.Open(ctx, dir, memory.WithCompactionThreshold(16<<10))
	require.NoError(t, err)
	acked := map[string]bool{}
	var writeErr error
	for b := 0; writeErr == nil; b++ {
		require.Less(t, b, 10000, "the disk never filled")
		recs := indextest.RandomRecords(uint64(b), 8, 256)
		for i := range recs {
			recs[i].ID = fmt.Sprintf("b%05d-%d", b, i)
		}
		if writeErr = s.Upsert(ctx, "ns", recs); writeErr == nil {
			for _, r := range recs {
				acked[r.ID] = true
			}
		}
	}
	require.ErrorIs(t, writeErr, syscall.ENOSPC)
	var pe *fs.PathError
	require.ErrorAs(t, writeErr, &pe)
	assert.Equal(t, filepath.Join(dir, "store.wal"), pe.Path, "the file named in %q", writeErr)
	assert.Error(t, s.Close(), "Close reports the failed write")
	t.Logf("%d records acknowledged before: %v", len(acked), writeErr)

	s, err = memory.Open(ctx, dir)
	require.NoError(t, err, "reopen on the full disk")
	defer s.Close()
	got := fetchAll(t, s, "ns")
	for id := range acked {
		require.Contains(t, got, id, "acknowledged record lost")
	}
	assert.LessOrEqual(t, len(got), len(acked)+8, "at most the failed write's batch more")
}
