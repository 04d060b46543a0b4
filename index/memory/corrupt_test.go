package memory

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

// testRecord returns record i of a deterministic set with a vector of dim
// elements and metadata of every type.
func testRecord(i, dim int) index.Record {
	v := make([]float32, dim)
	for j := range v {
		v[j] = float32((i+1)*(j+3)%17) - 8.5
	}
	return index.Record{
		ID:     fmt.Sprintf("rec-%04d", i),
		Vector: v,
		Metadata: index.Metadata{
			"i": int64(i), "f": float64(i) / 3, "s": fmt.Sprint("v", i), "b": i%2 == 0, "l": []string{"x", fmt.Sprint(i)},
		},
	}
}

// writeLogDir makes a directory whose log holds n upserts of one record each
// (dimension dim) and returns it with the offset of every entry and the
// log's size.
func writeLogDir(t *testing.T, n, dim int) (dir string, offsets []int64, size int64) {
	t.Helper()
	dir = t.TempDir()
	s, err := Open(t.Context(), dir, WithMetric(index.DotProduct), WithCompactionThreshold(0))
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, s.Upsert(t.Context(), "ns", []index.Record{testRecord(i, dim)}))
	}
	require.NoError(t, s.Close())
	b := readFile(t, filepath.Join(dir, logName))
	return dir, entryOffsets(t, b), int64(len(b))
}

func entryOffsets(t *testing.T, b []byte) []int64 {
	t.Helper()
	var offs []int64
	for off := int64(fileHeaderSize); off < int64(len(b)); {
		offs = append(offs, off)
		off += entryHeaderSize + int64(binary.LittleEndian.Uint32(b[off:]))
	}
	return offs
}

// writeSnapDir makes a directory with a snapshot of n records in two
// namespaces and an empty log.
func writeSnapDir(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(t.Context(), dir, WithMetric(index.Euclidean))
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, s.Upsert(t.Context(), fmt.Sprint("ns", i%2), []index.Record{testRecord(i, 6)}))
	}
	require.NoError(t, s.Compact(t.Context()))
	require.NoError(t, s.Close())
	return dir
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func editFile(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, edit(readFile(t, path)), 0o644))
}

// requireCorrupt opens dir and checks that it fails with a CorruptError
// about file at offset, and that the failed Open released the lock.
func requireCorrupt(t *testing.T, dir, file string, offset int64, reason string) {
	t.Helper()
	for range 2 { // the second Open must see the same damage, not ErrLocked
		s, err := Open(t.Context(), dir)
		require.Error(t, err)
		require.Nil(t, s)
		require.ErrorIs(t, err, index.ErrCorrupt)
		var ce *CorruptError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, filepath.Join(dir, file), ce.File)
		assert.Equal(t, offset, ce.Offset, "offset; error: %v", err)
		assert.Contains(t, ce.Reason, reason)
		assert.Contains(t, err.Error(), file)
	}
}

// requireRecords opens dir and checks that it holds exactly records 0..n-1
// of testRecord.
func requireRecords(t *testing.T, dir string, n, dim int) *Store {
	t.Helper()
	s, err := Open(t.Context(), dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	c, err := s.Count(t.Context(), "ns")
	require.NoError(t, err)
	require.Equal(t, n, c)
	for i := range n {
		want := testRecord(i, dim)
		got, err := s.Fetch(t.Context(), "ns", []string{want.ID})
		require.NoError(t, err)
		require.Len(t, got, 1, want.ID)
		require.Equal(t, want, got[0])
	}
	return s
}

func TestLogCorruption(t *testing.T) {
	t.Parallel()
	const n, dim = 10, 4
	tests := []struct {
		name   string
		edit   func(b []byte, offs []int64) []byte
		offset func(offs []int64) int64 // of the reported damage
		reason string
	}{
		{
			name:   "byte flipped in a middle entry's payload",
			edit:   func(b []byte, offs []int64) []byte { b[offs[5]+entryHeaderSize+7] ^= 0x10; return b },
			offset: func(offs []int64) int64 { return offs[5] },
			reason: "entry checksum mismatch",
		},
		{
			name:   "byte flipped in a middle entry's length",
			edit:   func(b []byte, offs []int64) []byte { b[offs[4]+3] ^= 0x01; return b },
			offset: func(offs []int64) int64 { return offs[4] },
			reason: "entry header checksum mismatch",
		},
		{
			name:   "byte flipped in the last entry",
			edit:   func(b []byte, offs []int64) []byte { b[offs[n-1]+entryHeaderSize+2] ^= 0x80; return b },
			offset: func(offs []int64) int64 { return offs[n-1] },
			reason: "entry checksum mismatch",
		},
		{
			name:   "byte flipped in the file header",
			edit:   func(b []byte, _ []int64) []byte { b[20] ^= 0x01; return b },
			offset: func([]int64) int64 { return 0 },
			reason: "file header checksum",
		},
		{
			name:   "wrong magic",
			edit:   func(b []byte, _ []int64) []byte { copy(b, "NOTSHOAL"); return b },
			offset: func([]int64) int64 { return 0 },
			reason: "bad magic",
		},
		{
			name:   "a snapshot where the log should be",
			edit:   func(b []byte, _ []int64) []byte { copy(b, snapMagic); return b },
			offset: func([]int64) int64 { return 0 },
			reason: "bad magic",
		},
		{
			name: "newer version",
			edit: func(b []byte, _ []int64) []byte {
				binary.LittleEndian.PutUint32(b[8:], formatVersion+1)
				binary.LittleEndian.PutUint32(b[28:], checksum(b[:28]))
				return b
			},
			offset: func([]int64) int64 { return 0 },
			reason: "unsupported format version 2",
		},
		{
			name:   "cut inside the file header",
			edit:   func(b []byte, _ []int64) []byte { return b[:fileHeaderSize-5] },
			offset: func([]int64) int64 { return 0 },
			reason: "shorter than its header",
		},
		{
			name: "entries swapped (payload of one under the header of another)",
			edit: func(b []byte, offs []int64) []byte {
				copy(b[offs[2]+4:offs[2]+8], b[offs[3]+4:offs[3]+8])
				return b
			},
			offset: func(offs []int64) int64 { return offs[2] },
			reason: "entry header checksum mismatch",
		},
		{
			name: "garbage after the last entry",
			edit: func(b []byte, _ []int64) []byte {
				return append(b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
			},
			offset: func(offs []int64) int64 { return -1 }, // the log's size, filled in below
			reason: "entry header checksum mismatch",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, offs, size := writeLogDir(t, n, dim)
			require.Len(t, offs, n)
			editFile(t, filepath.Join(dir, logName), func(b []byte) []byte { return tt.edit(b, offs) })
			off := tt.offset(offs)
			if off < 0 {
				off = size
			}
			requireCorrupt(t, dir, logName, off, tt.reason)
		})
	}
}

// TestLogTornTail cuts or damages the log's end the way a crash during an
// unacknowledged write does: every earlier entry is recovered, the tail is
// cut off, and the log takes new writes after it.
func TestLogTornTail(t *testing.T) {
	t.Parallel()
	const n, dim = 8, 300 // entries over two sectors long
	tests := []struct {
		name string
		edit func(b []byte, offs []int64) []byte
		keep int // entries recovered
	}{
		{"cut inside the last payload", func(b []byte, offs []int64) []byte { return b[:offs[n-1]+entryHeaderSize+100] }, n - 1},
		{"cut inside the last entry header", func(b []byte, offs []int64) []byte { return b[:offs[n-1]+5] }, n - 1},
		{"cut after the last entry header", func(b []byte, offs []int64) []byte { return b[:offs[n-1]+entryHeaderSize] }, n - 1},
		{"cut in the middle of the log", func(b []byte, offs []int64) []byte { return b[:offs[3]+700] }, 3},
		{"cut right after an entry", func(b []byte, offs []int64) []byte { return b[:offs[6]] }, 6},
		{"zeros after the last entry", func(b []byte, _ []int64) []byte { return append(b, make([]byte, 4096)...) }, n},
		{"a few bytes after the last entry", func(b []byte, _ []int64) []byte { return append(b, 7, 7, 7) }, n},
		{"last entry with a zeroed sector", func(b []byte, offs []int64) []byte {
			start := (offs[n-1]/sectorSize + 1) * sectorSize
			clear(b[start : start+sectorSize])
			return b
		}, n - 1},
		{"last entry zero-filled to the end", func(b []byte, offs []int64) []byte {
			clear(b[offs[n-1]+entryHeaderSize+40:])
			return b
		}, n - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, offs, _ := writeLogDir(t, n, dim)
			path := filepath.Join(dir, logName)
			editFile(t, path, func(b []byte) []byte { return tt.edit(b, offs) })
			s := requireRecords(t, dir, tt.keep, dim)
			want := int64(fileHeaderSize)
			if tt.keep > 0 {
				want = offs[tt.keep-1] + int64(entryHeaderSize+binary.LittleEndian.Uint32(readFile(t, path)[offs[tt.keep-1]:]))
			}
			assert.Equal(t, want, fileSize(t, path), "the torn tail is cut off")

			// The log goes on after the cut, and reopens cleanly.
			require.NoError(t, s.Upsert(t.Context(), "ns", []index.Record{testRecord(tt.keep, dim)}))
			require.NoError(t, s.Close())
			requireRecords(t, dir, tt.keep+1, dim)
		})
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}

func TestSnapshotCorruption(t *testing.T) {
	t.Parallel()
	const n = 40
	tests := []struct {
		name   string
		edit   func(b []byte) []byte
		offset int64 // -1: anywhere after the header
		reason string
	}{
		{"byte flipped in the middle", func(b []byte) []byte { b[len(b)/2] ^= 0x04; return b }, -1, "checksum mismatch"},
		{"cut in the middle", func(b []byte) []byte { return b[:len(b)/2] }, -1, "snapshot cut short"},
		{"cut before the end entry", func(b []byte) []byte { return b[:entryOffsets(t, b)[2]] }, -1, "without its end entry"},
		{"header only", func(b []byte) []byte { return b[:fileHeaderSize] }, fileHeaderSize, "without its end entry"},
		{"empty file", func(b []byte) []byte { return nil }, 0, "shorter than its header"},
		{"zeros after the end", func(b []byte) []byte { return append(b, make([]byte, 64)...) }, -1, "after the end entry"},
		{"wrong magic", func(b []byte) []byte { copy(b, walMagic); return b }, 0, "bad magic"},
		{"version 0", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[8:], 0)
			binary.LittleEndian.PutUint32(b[28:], checksum(b[:28]))
			return b
		}, 0, "unsupported format version 0"},
		{"unknown metric", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[12:], 9)
			binary.LittleEndian.PutUint32(b[28:], checksum(b[:28]))
			return b
		}, 0, "unknown metric"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeSnapDir(t, n)
			editFile(t, filepath.Join(dir, snapName), tt.edit)
			s, err := Open(t.Context(), dir)
			require.ErrorIs(t, err, index.ErrCorrupt)
			require.Nil(t, s)
			var ce *CorruptError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, filepath.Join(dir, snapName), ce.File)
			if tt.offset >= 0 {
				assert.Equal(t, tt.offset, ce.Offset)
			} else {
				assert.Greater(t, ce.Offset, int64(fileHeaderSize-1))
			}
			assert.Contains(t, ce.Reason, tt.reason)
		})
	}
}

// TestSnapshotIntact is the control for TestSnapshotCorruption.
func TestSnapshotIntact(t *testing.T) {
	t.Parallel()
	dir := writeSnapDir(t, 40)
	s, err := Open(t.Context(), dir)
	require.NoError(t, err)
	defer s.Close()
	for ns, want := range map[string]int{"ns0": 20, "ns1": 20} {
		c, err := s.Count(t.Context(), ns)
		require.NoError(t, err)
		assert.Equal(t, want, c)
	}
}

// writeFile writes a file of entries with valid checksums.
func writeFile(t *testing.T, path, magic string, h fileHeader, entries ...*entry) {
	t.Helper()
	b := appendFileHeader(nil, magic, h)
	for _, e := range entries {
		var err error
		b, err = appendEntry(b, e)
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func upsertEntry(ns string, recs ...index.Record) *entry {
	return &entry{op: opUpsert, namespace: ns, dim: len(recs[0].Vector), recs: recs}
}

// TestWellFramedButInconsistent checks entries whose checksums are right but
// whose contents break what Upsert guarantees.
func TestWellFramedButInconsistent(t *testing.T) {
	t.Parallel()
	a := index.Record{ID: "a", Vector: []float32{1, 2}}
	b3 := index.Record{ID: "b", Vector: []float32{1, 2, 3}}
	zero := index.Record{ID: "z", Vector: []float32{0, 0}}
	dot := fileHeader{metric: index.DotProduct}
	tests := []struct {
		name       string
		snap       []*entry // nil: no snapshot
		snapHeader fileHeader
		log        []*entry
		logHeader  fileHeader
		file       string
		reason     string
	}{
		{name: "dimension change in the log", log: []*entry{upsertEntry("ns", a), upsertEntry("ns", b3)}, logHeader: dot,
			file: logName, reason: "dimension mismatch"},
		{name: "store dimension in the log", log: []*entry{upsertEntry("ns", b3)}, logHeader: fileHeader{metric: index.DotProduct, dim: 2},
			file: logName, reason: "dimension mismatch"},
		{name: "zero vector under cosine", log: []*entry{upsertEntry("ns", zero)}, logHeader: fileHeader{metric: index.Cosine},
			file: logName, reason: "all elements are zero"},
		{name: "duplicate ID in one write", log: []*entry{upsertEntry("ns", a, a)}, logHeader: dot,
			file: logName, reason: "given twice"},
		{name: "end entry in the log", log: []*entry{{op: opEnd}}, logHeader: dot, file: logName, reason: "operation 3 in a log"},
		{name: "delete in a snapshot", snap: []*entry{upsertEntry("ns", a), {op: opDelete, namespace: "ns", ids: []string{"a"}}},
			snapHeader: dot, file: snapName, reason: "operation 2 in a snapshot"},
		{name: "record twice in a snapshot", snap: []*entry{upsertEntry("ns", a), upsertEntry("ns", a), {op: opEnd, spaces: 1, records: 1}},
			snapHeader: dot, file: snapName, reason: "appears twice"},
		{name: "wrong counts at the end", snap: []*entry{upsertEntry("ns", a), {op: opEnd, spaces: 1, records: 2}},
			snapHeader: dot, file: snapName, reason: "end entry counts"},
		{name: "log of a later generation", snap: []*entry{{op: opEnd}}, snapHeader: dot,
			logHeader: fileHeader{metric: index.DotProduct, gen: 1}, file: logName, reason: "generation 1 follows snapshot generation 0"},
		{name: "log without its snapshot", logHeader: fileHeader{metric: index.DotProduct, gen: 3}, file: logName, reason: "is missing"},
		{name: "log of another metric", snap: []*entry{{op: opEnd}}, snapHeader: dot,
			logHeader: fileHeader{metric: index.Euclidean}, file: logName, reason: "metric euclidean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.snap != nil {
				writeFile(t, filepath.Join(dir, snapName), snapMagic, tt.snapHeader, tt.snap...)
			}
			writeFile(t, filepath.Join(dir, logName), walMagic, tt.logHeader, tt.log...)
			s, err := Open(t.Context(), dir)
			require.ErrorIs(t, err, index.ErrCorrupt)
			require.Nil(t, s)
			var ce *CorruptError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, filepath.Join(dir, tt.file), ce.File)
			assert.Contains(t, ce.Reason, tt.reason)
		})
	}
}

// TestWriteFailureIsSticky makes the log's file fail under the store: the
// failing write reports it, and every later write is refused rather than
// appended after a possibly partial entry. Reads keep working.
func TestWriteFailureIsSticky(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(t.Context(), dir, WithMetric(index.DotProduct))
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, s.Upsert(ctx, "ns", []index.Record{testRecord(0, 3)}))
	s.log.mu.Lock()
	require.NoError(t, s.log.f.Close()) // writes to it now fail
	s.log.mu.Unlock()

	err = s.Upsert(ctx, "ns", []index.Record{testRecord(1, 3)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), logName)
	err = s.Delete(ctx, "ns", []string{testRecord(0, 3).ID})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed earlier")
	assert.Error(t, s.Compact(ctx))
	got, err := s.Fetch(ctx, "ns", []string{testRecord(0, 3).ID})
	require.NoError(t, err)
	assert.Len(t, got, 1, "reads keep working")
	assert.Error(t, s.Close(), "Close reports the closed file")

	s, err = Open(t.Context(), dir)
	require.NoError(t, err)
	defer s.Close()
	c, err := s.Count(ctx, "ns")
	require.NoError(t, err)
	assert.Equal(t, 1, c, "only the acknowledged write is there")
}

func TestHasZeroSector(t *testing.T) {
	t.Parallel()
	ones := func(n int) []byte { return bytes.Repeat([]byte{1}, n) }
	zeroAt := func(b []byte, from, to int) []byte { clear(b[from:to]); return b }
	tests := []struct {
		name  string
		off   int64
		entry []byte
		want  bool
	}{
		{"no zeros", 0, ones(2000), false},
		{"aligned zero sector inside", 0, zeroAt(ones(2000), 512, 1024), true},
		{"aligned zero sector, entry at an odd offset", 100, zeroAt(ones(2000), 412, 924), true},
		{"zero run not aligned to a sector", 0, zeroAt(ones(2000), 100, 612), false},
		{"zeros from a boundary to the end", 0, zeroAt(ones(600), 512, 600), true},
		{"a few zero bytes at the end", 0, zeroAt(ones(520), 512, 520), false},
		{"zeros at the end, not from a boundary", 0, zeroAt(ones(1000), 900, 1000), false},
		{"short entry of zeros", 1024, make([]byte, 12), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, p := tt.entry[:entryHeaderSize], tt.entry[entryHeaderSize:]
			assert.Equal(t, tt.want, hasZeroSector(tt.off, h, p))
		})
	}
}
