package memory

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/shoalhq/shoal/index"
)

// errTorn reports a final entry that was being written when the process
// stopped: it never was acknowledged, so the log is cut before it.
var errTorn = errors.New("torn final entry")

// sectorSize is the unit in which a disk tears a write: a torn entry on a
// machine crash shows a zero-filled sector.
const sectorSize = 512

// entryReader reads the framed entries of a file after its header.
type entryReader struct {
	r    *bufio.Reader
	name string
	off  int64 // offset of the next entry
	size int64 // file size
	buf  []byte
}

func newEntryReader(r io.Reader, name string, size int64) *entryReader {
	return &entryReader{r: bufio.NewReaderSize(r, int(min(size, 1<<16))), name: name, off: fileHeaderSize, size: size}
}

func (er *entryReader) corrupt(off int64, format string, args ...any) error {
	return &CorruptError{File: er.name, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// readFull reads exactly len(p) bytes that the size says are there.
func (er *entryReader) readFull(p []byte, off int64) error {
	if _, err := io.ReadFull(er.r, p); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return er.corrupt(off, "file shorter than its size")
		}
		return fmt.Errorf("memory: read %s at offset %d: %w", er.name, off, err)
	}
	return nil
}

// next returns the next entry's payload, valid until the following call.
// At the end of the file it returns io.EOF. A final entry cut short (or
// zero-filled, as a machine crash leaves one) is errTorn, with er.off at its
// start; any other damage is a *CorruptError.
func (er *entryReader) next() ([]byte, error) {
	start := er.off
	rest := er.size - start
	if rest == 0 {
		return nil, io.EOF
	}
	if rest < entryHeaderSize {
		return nil, errTorn
	}
	var h [entryHeaderSize]byte
	if err := er.readFull(h[:], start); err != nil {
		return nil, err
	}
	if binary.LittleEndian.Uint32(h[8:]) != checksum(h[:8]) {
		zero, err := er.restIsZero(h[:])
		if err != nil {
			return nil, err
		}
		if zero {
			return nil, errTorn
		}
		return nil, er.corrupt(start, "entry header checksum mismatch")
	}
	n := int64(binary.LittleEndian.Uint32(h[0:]))
	if n > maxPayload {
		return nil, er.corrupt(start, "entry of %d bytes, more than the %d allowed", n, maxPayload)
	}
	if n > rest-entryHeaderSize {
		return nil, errTorn // the header was written, not all of the payload
	}
	if int64(cap(er.buf)) < n {
		er.buf = make([]byte, n)
	}
	p := er.buf[:n]
	if err := er.readFull(p, start+entryHeaderSize); err != nil {
		return nil, err
	}
	if binary.LittleEndian.Uint32(h[4:]) != checksum(p) {
		if start+entryHeaderSize+n == er.size && hasZeroSector(start, h[:], p) {
			return nil, errTorn
		}
		return nil, er.corrupt(start, "entry checksum mismatch")
	}
	er.off = start + entryHeaderSize + n
	return p, nil
}

// restIsZero reports whether head and every byte after it are zero.
func (er *entryReader) restIsZero(head []byte) (bool, error) {
	for _, c := range head {
		if c != 0 {
			return false, nil
		}
	}
	buf := make([]byte, 1<<14)
	for {
		n, err := er.r.Read(buf)
		for _, c := range buf[:n] {
			if c != 0 {
				return false, nil
			}
		}
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("memory: read %s: %w", er.name, err)
		}
	}
}

// minZeroTail is the shortest zero-filled end of a file that counts as torn
// when it is shorter than a sector.
const minZeroTail = 64

// hasZeroSector reports whether the entry at off (header h, payload p), the
// last of its file, shows what a write torn by a machine crash leaves: a
// whole sector-aligned sector of zeros, or zeros from a sector boundary to
// the end of the file (at least minZeroTail of them). An entry merely
// ending in a few zero bytes does not count, so that damage to the last
// acknowledged entry is reported rather than taken for a torn write.
func hasZeroSector(off int64, h, p []byte) bool {
	at := func(i int64) byte {
		if i < int64(len(h)) {
			return h[i]
		}
		return p[i-int64(len(h))]
	}
	end := off + int64(len(h)+len(p))
	// First sector boundary at or after off.
	for i := (off + sectorSize - 1) / sectorSize * sectorSize; i < end; i += sectorSize {
		stop := min(i+sectorSize, end)
		if stop-i < sectorSize && stop-i < minZeroTail {
			break
		}
		zero := true
		for j := i; j < stop; j++ {
			if at(j-off) != 0 {
				zero = false
				break
			}
		}
		if zero {
			return true
		}
	}
	return false
}

// readHeader reads and checks a file header.
func readHeader(r io.Reader, name, magic string, size int64) (fileHeader, error) {
	if size < fileHeaderSize {
		return fileHeader{}, &CorruptError{File: name, Offset: 0, Reason: fmt.Sprintf("file of %d bytes is shorter than its header", size)}
	}
	var b [fileHeaderSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return fileHeader{}, fmt.Errorf("memory: read %s: %w", name, err)
	}
	h, err := parseFileHeader(b[:], magic)
	if err != nil {
		return fileHeader{}, &CorruptError{File: name, Offset: 0, Reason: err.Error()}
	}
	return h, nil
}

// loadSnapshot reads a snapshot (size bytes from r) into st, which must be
// empty and have the header's metric and dimension. Any damage, including a
// missing end, is a *CorruptError.
func loadSnapshot(ctx context.Context, r io.Reader, name string, size int64, st *state) (fileHeader, error) {
	h, err := readHeader(r, name, snapMagic, size)
	if err != nil {
		return h, err
	}
	st.metric, st.dim = h.metric, h.dim
	st.deferIndex = true
	defer func() { st.deferIndex = false }()
	graphs := newGraphLoader(st)
	er := newEntryReader(r, name, size)
	for {
		if err := ctx.Err(); err != nil {
			return h, err
		}
		at := er.off
		p, err := er.next()
		switch {
		case err == io.EOF:
			return h, er.corrupt(at, "snapshot ends without its end entry")
		case errors.Is(err, errTorn):
			return h, er.corrupt(at, "snapshot cut short")
		case err != nil:
			return h, err
		}
		e, err := decodePayload(p)
		if err != nil {
			return h, er.corrupt(at, "%v", err)
		}
		switch e.op {
		case opUpsert:
			if err := applySnapshotChunk(st, e); err != nil {
				return h, er.corrupt(at, "%v", err)
			}
		case opGraph:
			if err := graphs.apply(e.namespace, e.graph); err != nil {
				return h, er.corrupt(at, "%v", err)
			}
		case opEnd:
			if er.off != size {
				return h, er.corrupt(er.off, "%d bytes after the end entry", size-er.off)
			}
			if e.namespace != "" || e.spaces != uint64(len(st.spaces)) || e.records != uint64(st.records()) {
				return h, er.corrupt(at, "end entry counts %d namespaces and %d records, the snapshot holds %d and %d",
					e.spaces, e.records, len(st.spaces), st.records())
			}
			st.deferIndex = false
			if err := graphs.finish(); err != nil {
				return h, er.corrupt(at, "%v", err)
			}
			return h, nil
		default:
			return h, er.corrupt(at, "operation %d in a snapshot", e.op)
		}
	}
}

func applySnapshotChunk(st *state, e *entry) error {
	if err := st.checkDim(e.namespace, e.dim); err != nil {
		return err
	}
	if sp := st.spaces[e.namespace]; sp != nil {
		for _, r := range e.recs {
			if _, dup := sp.slots[r.ID]; dup {
				return fmt.Errorf("record %q of namespace %q appears twice", r.ID, e.namespace)
			}
		}
	}
	return applyUpsert(st, e)
}

// applyUpsert applies a decoded upsert, checking what Upsert checked.
func applyUpsert(st *state, e *entry) error {
	if err := st.checkDim(e.namespace, e.dim); err != nil {
		return err
	}
	seen := make(map[string]bool, len(e.recs))
	for _, r := range e.recs {
		if seen[r.ID] {
			return fmt.Errorf("record %q given twice in one write", r.ID)
		}
		seen[r.ID] = true
	}
	inv, err := inverseNorms(st.metric, e.recs)
	if err != nil {
		return err
	}
	st.upsert(e.namespace, e.recs, inv)
	return nil
}

// replayLog reads a write-ahead log (size bytes from r) and applies its
// entries to st. It returns the header and the offset where the valid log
// ends: size, or the start of a torn final entry, which the caller cuts off.
// Other damage is a *CorruptError.
func replayLog(ctx context.Context, r io.Reader, name string, size int64, st *state) (fileHeader, int64, error) {
	h, err := readHeader(r, name, walMagic, size)
	if err != nil {
		return h, 0, err
	}
	if h.metric != st.metric || h.dim != st.dim {
		return h, 0, &CorruptError{File: name, Offset: 0, Reason: fmt.Sprintf(
			"log is for metric %v and dimension %d, the snapshot for %v and %d", h.metric, h.dim, st.metric, st.dim)}
	}
	er := newEntryReader(r, name, size)
	for {
		if err := ctx.Err(); err != nil {
			return h, 0, err
		}
		at := er.off
		p, err := er.next()
		switch {
		case err == io.EOF:
			return h, size, nil
		case errors.Is(err, errTorn):
			return h, at, nil
		case err != nil:
			return h, 0, err
		}
		e, err := decodePayload(p)
		if err != nil {
			return h, 0, er.corrupt(at, "%v", err)
		}
		switch e.op {
		case opUpsert:
			err = applyUpsert(st, e)
		case opDelete:
			st.remove(e.namespace, e.ids)
		default:
			err = fmt.Errorf("operation %d in a log", e.op)
		}
		if err != nil {
			return h, 0, er.corrupt(at, "%v", err)
		}
	}
}

// snapshotChunk bounds the payload of one snapshot entry.
const snapshotChunk = 4 << 20

// writeSnapshot writes st framed as a snapshot to w.
func writeSnapshot(w io.Writer, h fileHeader, st *state) error {
	buf := appendFileHeader(nil, snapMagic, h)
	names := make([]string, 0, len(st.spaces))
	for ns := range st.spaces {
		names = append(names, ns)
	}
	slices.Sort(names)
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	for _, ns := range names {
		sp := st.spaces[ns]
		e := &entry{op: opUpsert, namespace: ns, dim: sp.dim}
		size := 0
		left := sp.len()
		for i := range sp.slotCount() {
			if sp.ids[i] == "" { // a graph's tombstone
				continue
			}
			r := index.Record{ID: sp.ids[i], Vector: sp.vector(i), Metadata: sp.meta[i]}
			e.recs = append(e.recs, r)
			size += len(r.ID) + 4*sp.dim + r.Metadata.Size()
			if left--; size >= snapshotChunk || left == 0 {
				var err error
				if buf, err = appendEntry(buf, e); err != nil {
					return err
				}
				if err := flush(); err != nil {
					return err
				}
				e.recs, size = e.recs[:0], 0
			}
		}
		if sp.g != nil && sp.g.nodes() > 0 {
			var err error
			buf, err = appendGraphEntries(buf, ns, sp.g, func(b []byte) ([]byte, error) {
				buf = b
				err := flush()
				return buf, err
			})
			if err != nil {
				return err
			}
		}
	}
	var err error
	buf, err = appendEntry(buf, &entry{op: opEnd, spaces: uint64(len(names)), records: uint64(st.records())})
	if err != nil {
		return err
	}
	return flush()
}
