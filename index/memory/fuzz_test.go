package memory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

// seedDir writes a small store through the public API (upserts of every
// metadata type, overwrites, deletes in two namespaces, one compaction, then
// more writes) and returns its snapshot and log.
func seedFiles(tb testing.TB) (snap, log []byte) {
	tb.Helper()
	dir := tb.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, dir, WithMetric(index.Cosine), WithCompactionThreshold(0))
	require.NoError(tb, err)
	write := func(first int) {
		for i := first; i < first+6; i++ {
			ns := []string{"", "pool", "ñ"}[i%3]
			r := testRecord(i, 5)
			if i%4 == 0 {
				r.Metadata = nil
			}
			if i%5 == 0 {
				r.Metadata = index.Metadata{"empty": []string{}, "nil": []string(nil), "neg": math.Copysign(0, -1)}
			}
			require.NoError(tb, s.Upsert(ctx, ns, []index.Record{r, testRecord(i+100, 5)}))
		}
		require.NoError(tb, s.Delete(ctx, "pool", []string{testRecord(first+1, 5).ID, testRecord(first+104, 5).ID}))
	}
	write(0)
	require.NoError(tb, s.Compact(ctx))
	write(10)
	require.NoError(tb, s.Close())
	snap, err = os.ReadFile(filepath.Join(dir, snapName))
	require.NoError(tb, err)
	log, err = os.ReadFile(filepath.Join(dir, logName))
	require.NoError(tb, err)
	return snap, log
}

// payloads returns the payloads of the entries of a file.
func payloads(tb testing.TB, file []byte) [][]byte {
	tb.Helper()
	er := newEntryReader(bytes.NewReader(file[fileHeaderSize:]), "seed", int64(len(file)))
	var out [][]byte
	for {
		p, err := er.next()
		if err == io.EOF {
			return out
		}
		require.NoError(tb, err)
		out = append(out, slices.Clone(p))
	}
}

// entriesOf decodes the entries of a file up to end, which must all be good.
func entriesOf(tb testing.TB, file []byte, end int64) []*entry {
	tb.Helper()
	er := newEntryReader(bytes.NewReader(file[fileHeaderSize:end]), "fuzz", end)
	var out []*entry
	for {
		p, err := er.next()
		if err == io.EOF {
			return out
		}
		require.NoError(tb, err)
		e, err := decodePayload(p)
		require.NoError(tb, err)
		out = append(out, e)
	}
}

// encodeFile frames entries after a header, as the store writes them.
func encodeFile(tb testing.TB, magic string, h fileHeader, entries []*entry) []byte {
	tb.Helper()
	b := appendFileHeader(nil, magic, h)
	for _, e := range entries {
		var err error
		b, err = appendEntry(b, e)
		require.NoError(tb, err)
	}
	return b
}

// dump returns st's records by namespace, sorted by ID, for comparison.
func dump(st *state) map[string][]index.Record {
	out := make(map[string][]index.Record, len(st.spaces))
	for ns, sp := range st.spaces {
		recs := make([]index.Record, sp.len())
		for i := range recs {
			recs[i] = sp.record(i)
		}
		slices.SortFunc(recs, func(a, b index.Record) int { return strings.Compare(a.ID, b.ID) })
		out[ns] = recs
	}
	return out
}

// checkSnapshotRoundTrip writes st as a snapshot, loads it back and checks
// that nothing changed, and that writing is deterministic.
func checkSnapshotRoundTrip(t *testing.T, h fileHeader, st *state) {
	var buf bytes.Buffer
	require.NoError(t, writeSnapshot(&buf, h, st))
	st2 := newState(0, 0)
	h2, err := loadSnapshot(context.Background(), bytes.NewReader(buf.Bytes()), "rewritten", int64(buf.Len()), st2)
	require.NoError(t, err, "a snapshot the store wrote must load")
	require.Equal(t, h, h2)
	require.Equal(t, dump(st), dump(st2))
	var again bytes.Buffer
	require.NoError(t, writeSnapshot(&again, h2, st2))
	require.Equal(t, buf.Bytes(), again.Bytes(), "snapshot encoding is deterministic")
}

// requireOnlyKnownErrors fails on an error that is neither a CorruptError
// nor an I/O error of the reader (which bytes.Reader never returns).
func requireCorruptOrNil(t *testing.T, err error) {
	if err == nil {
		return
	}
	var ce *CorruptError
	require.True(t, errors.As(err, &ce) && errors.Is(err, index.ErrCorrupt), "unexpected error %v", err)
}

// FuzzDecodeLog replays arbitrary bytes as a write-ahead log. It must never
// panic; it fails only with a CorruptError; what it accepts re-encodes to the
// same bytes (up to the torn tail it cut), and the state it builds survives
// a snapshot round trip.
func FuzzDecodeLog(f *testing.F) {
	_, log := seedFiles(f)
	f.Add(log)
	f.Add(log[:len(log)-3])                       // torn tail
	f.Add(append(slices.Clone(log), 0, 0, 0, 0))  // zeros after the end
	f.Add(log[:fileHeaderSize])                   // empty log
	f.Add(append(slices.Clone(log), log[40:]...)) // garbage after the end
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		h, err := readHeader(bytes.NewReader(data), "fuzz.wal", walMagic, size)
		if err != nil {
			requireCorruptOrNil(t, err)
			return
		}
		st := newState(h.metric, h.dim)
		h2, end, err := replayLog(context.Background(), bytes.NewReader(data), "fuzz.wal", size, st)
		if err != nil {
			requireCorruptOrNil(t, err)
			return
		}
		require.Equal(t, h, h2)
		require.GreaterOrEqual(t, end, int64(fileHeaderSize))
		require.LessOrEqual(t, end, size)
		re := encodeFile(t, walMagic, h, entriesOf(t, data, end))
		require.Equal(t, data[:end], re, "the accepted log re-encodes to the same bytes")
		checkSnapshotRoundTrip(t, h, st)
	})
}

// FuzzDecodeSnapshot loads arbitrary bytes as a snapshot, with the same
// properties as FuzzDecodeLog, except that a snapshot is accepted only whole.
func FuzzDecodeSnapshot(f *testing.F) {
	snap, _ := seedFiles(f)
	f.Add(snap)
	f.Add(snap[:len(snap)-1])
	f.Add(append(slices.Clone(snap), 0))
	var empty bytes.Buffer
	require.NoError(f, writeSnapshot(&empty, fileHeader{metric: index.Euclidean, dim: 3, gen: 9}, newState(index.Euclidean, 3)))
	f.Add(empty.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		st := newState(0, 0)
		h, err := loadSnapshot(context.Background(), bytes.NewReader(data), "fuzz.snap", int64(len(data)), st)
		if err != nil {
			requireCorruptOrNil(t, err)
			return
		}
		re := encodeFile(t, snapMagic, h, entriesOf(t, data, int64(len(data))))
		require.Equal(t, data, re, "the accepted snapshot re-encodes to the same bytes")
		checkSnapshotRoundTrip(t, h, st)
	})
}

// FuzzDecodePayload decodes arbitrary bytes as one entry's payload, which is
// where the fuzzer gets past the checksums: it must never panic, and what it
// accepts re-encodes to exactly the same bytes.
func FuzzDecodePayload(f *testing.F) {
	snap, log := seedFiles(f)
	for _, p := range append(payloads(f, snap), payloads(f, log)...) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodePayload(data)
		if err != nil {
			return
		}
		require.Equal(t, data, appendPayload(nil, e), "canonical encoding")
	})
}

// FuzzReplayEntries frames arbitrary payloads with valid checksums and
// replays them, so that the fuzzer reaches the checks behind the framing
// (dimensions, duplicates, deletes, zero vectors under Cosine). data is a
// metric byte, then uvarint-length-prefixed payloads.
func FuzzReplayEntries(f *testing.F) {
	_, log := seedFiles(f)
	seed := []byte{byte(index.Cosine)}
	for _, p := range payloads(f, log) {
		seed = binary.AppendUvarint(seed, uint64(len(p)))
		seed = append(seed, p...)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		h := fileHeader{metric: index.Metric(data[0] % 3)}
		file := appendFileHeader(nil, walMagic, h)
		for rest := data[1:]; len(rest) > 0; {
			n, k := binary.Uvarint(rest)
			if k <= 0 || n > uint64(len(rest)-k) {
				break
			}
			p := rest[k : k+int(n)]
			rest = rest[k+int(n):]
			file = binary.LittleEndian.AppendUint32(file, uint32(len(p)))
			file = binary.LittleEndian.AppendUint32(file, checksum(p))
			file = binary.LittleEndian.AppendUint32(file, checksum(file[len(file)-8:]))
			file = append(file, p...)
		}
		st := newState(h.metric, h.dim)
		_, end, err := replayLog(context.Background(), bytes.NewReader(file), "fuzz.wal", int64(len(file)), st)
		if err != nil {
			requireCorruptOrNil(t, err)
			return
		}
		require.Equal(t, int64(len(file)), end, "well-framed entries are never torn")
		checkSnapshotRoundTrip(t, h, st)
	})
}
