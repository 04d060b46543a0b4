package memory

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// The on-disk format, shared by the write-ahead log and the snapshot. All
// integers are little-endian; "uvarint" is the canonical (shortest) LEB128
// form of encoding/binary; "str" is a uvarint length followed by the bytes.
//
//	file    = header entry*
//	header  = magic[8] version:u32 metric:u32 dim:u32 generation:u64 crc:u32
//	entry   = length:u32 payloadCRC:u32 headerCRC:u32 payload[length]
//	payload = op:u8 namespace:str body
//
// crc is the CRC-32C of the 28 header bytes before it; payloadCRC is the
// CRC-32C of the payload and headerCRC that of the 8 bytes before it, so a
// damaged length is told apart from a write that was cut short.
//
//	upsert body = dim:uvarint count:uvarint record{count}
//	record      = id:str float32{dim} metadata
//	metadata    = uvarint(n+1) field{n}   (0 encodes nil metadata)
//	field       = key:str tag:u8 value    (keys strictly increasing)
//	value       = str (tagString) | nothing (tagFalse, tagTrue)
//	            | int64 (tagInt64) | float64 bits (tagFloat64)
//	            | uvarint(n+1) str{n} (tagStrings; 0 encodes a nil list)
//	delete body = count:uvarint id:str{count}
//	end body    = namespaces:uvarint records:uvarint   (snapshot only, last)
//	graph body  = see hnsw_file.go                      (snapshot only)
//
// The encoding is canonical: decoding rejects anything [appendPayload] would
// not produce, so a decoded entry re-encodes to the same bytes.
const (
	formatVersion   = 1
	walMagic        = "SHOALWAL"
	snapMagic       = "SHOALSNP"
	fileHeaderSize  = 32
	entryHeaderSize = 12
	// maxPayload bounds one entry; an Upsert that would encode larger is
	// refused (split it).
	maxPayload = 1 << 30
)

const (
	opUpsert byte = 1
	opDelete byte = 2
	opEnd    byte = 3
)

const (
	tagString  byte = 1
	tagFalse   byte = 2
	tagTrue    byte = 3
	tagInt64   byte = 4
	tagFloat64 byte = 5
	tagStrings byte = 6
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// CorruptError reports persisted data that fails its checks: the file, the
// byte offset of the damaged header or entry, and what is wrong. It wraps
// [index.ErrCorrupt].
type CorruptError struct {
	File   string // path of the file
	Offset int64  // offset of the damaged header or entry
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("memory: %s: offset %d: %s: %v", e.File, e.Offset, e.Reason, index.ErrCorrupt)
}

// Unwrap returns [index.ErrCorrupt].
func (e *CorruptError) Unwrap() error { return index.ErrCorrupt }

// fileHeader is what a file's header records besides its magic and version.
type fileHeader struct {
	metric index.Metric
	dim    int    // store-wide dimension, 0 for none
	gen    uint64 // snapshot generation the file belongs to
}

func appendFileHeader(b []byte, magic string, h fileHeader) []byte {
	start := len(b)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint32(b, formatVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(h.metric))
	b = binary.LittleEndian.AppendUint32(b, uint32(h.dim))
	b = binary.LittleEndian.AppendUint64(b, h.gen)
	return binary.LittleEndian.AppendUint32(b, checksum(b[start:]))
}

// parseFileHeader checks a header of fileHeaderSize bytes; the error is a
// reason for a CorruptError at offset 0.
func parseFileHeader(b []byte, magic string) (fileHeader, error) {
	if len(b) < fileHeaderSize {
		return fileHeader{}, fmt.Errorf("file header cut short: %d of %d bytes", len(b), fileHeaderSize)
	}
	if string(b[:8]) != magic {
		return fileHeader{}, fmt.Errorf("bad magic %q, want %q", b[:8], magic)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != formatVersion {
		return fileHeader{}, fmt.Errorf("unsupported format version %d (this build reads version %d)", v, formatVersion)
	}
	if got, want := binary.LittleEndian.Uint32(b[28:]), checksum(b[:28]); got != want {
		return fileHeader{}, fmt.Errorf("file header checksum %08x, want %08x", got, want)
	}
	h := fileHeader{
		metric: index.Metric(binary.LittleEndian.Uint32(b[12:])),
		dim:    int(binary.LittleEndian.Uint32(b[16:])),
		gen:    binary.LittleEndian.Uint64(b[20:]),
	}
	if !h.metric.Valid() {
		return fileHeader{}, fmt.Errorf("unknown metric %d", int(h.metric))
	}
	return h, nil
}

// entry is one decoded payload.
type entry struct {
	op        byte
	namespace string
	dim       int            // opUpsert
	recs      []index.Record // opUpsert
	ids       []string       // opDelete
	spaces    uint64         // opEnd: namespaces in the snapshot
	records   uint64         // opEnd: records in the snapshot
	graph     *graphChunk    // opGraph (see hnsw_file.go)
}

// appendEntry appends e framed (header and payload) to b.
func appendEntry(b []byte, e *entry) ([]byte, error) {
	start := len(b)
	b = append(b, make([]byte, entryHeaderSize)...)
	b = appendPayload(b, e)
	n := len(b) - start - entryHeaderSize
	if n > maxPayload {
		return b[:start], fmt.Errorf("memory: %w: the call encodes to %d bytes, more than the %d one write may hold; split it",
			index.ErrInvalidArgument, n, maxPayload)
	}
	putEntryHeader(b[start:start+entryHeaderSize], b[start+entryHeaderSize:])
	return b, nil
}

func putEntryHeader(h, payload []byte) {
	binary.LittleEndian.PutUint32(h[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[4:], checksum(payload))
	binary.LittleEndian.PutUint32(h[8:], checksum(h[:8]))
}

func appendPayload(b []byte, e *entry) []byte {
	b = append(b, e.op)
	b = appendString(b, e.namespace)
	switch e.op {
	case opUpsert:
		b = binary.AppendUvarint(b, uint64(e.dim))
		b = binary.AppendUvarint(b, uint64(len(e.recs)))
		for _, r := range e.recs {
			b = appendString(b, r.ID)
			b = appendFloats(b, r.Vector)
			b = appendMetadata(b, r.Metadata)
		}
	case opDelete:
		b = binary.AppendUvarint(b, uint64(len(e.ids)))
		for _, id := range e.ids {
			b = appendString(b, id)
		}
	case opEnd:
		b = binary.AppendUvarint(b, e.spaces)
		b = binary.AppendUvarint(b, e.records)
	}
	return b
}

// appendFloats appends v as little-endian float32 bits.
func appendFloats(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// getFloats fills v from raw, 4·len(v) bytes that appendFloats wrote.
func getFloats(v []float32, raw []byte) {
	for j := range v {
		v[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendMetadata(b []byte, md index.Metadata) []byte {
	if md == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(md))+1)
	for _, k := range sortedKeys(md) {
		b = appendString(b, k)
		switch v := md[k].(type) {
		case string:
			b = append(b, tagString)
			b = appendString(b, v)
		case bool:
			if v {
				b = append(b, tagTrue)
			} else {
				b = append(b, tagFalse)
			}
		case int64:
			b = append(b, tagInt64)
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		case float64:
			b = append(b, tagFloat64)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case []string:
			b = append(b, tagStrings)
			if v == nil {
				b = append(b, 0)
				break
			}
			b = binary.AppendUvarint(b, uint64(len(v))+1)
			for _, s := range v {
				b = appendString(b, s)
			}
		default:
			// Unreachable: metadata is normalised before it is encoded.
			panic(fmt.Sprintf("memory: metadata %q of type %T was not normalised", k, v))
		}
	}
	return b
}

// decoder reads a payload. Every method records the first problem in err and
// returns zero values afterwards, so callers check err once.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("payload byte %d: "+format, append([]any{d.off}, args...)...)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("unexpected end")
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

// uvarint reads a canonical uvarint.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.fail("unexpected end in a varint")
		return 0
	case n < 0:
		d.fail("varint overflows 64 bits")
		return 0
	case n > 1 && d.b[d.off+n-1] == 0:
		d.fail("varint is not in shortest form")
		return 0
	}
	d.off += n
	return v
}

// count reads a uvarint that counts items of at least minSize bytes each,
// rejecting counts the rest of the payload cannot hold.
func (d *decoder) count(minSize int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64(len(d.b)-d.off)/uint64(minSize) {
		d.fail("count %d exceeds the %d bytes left", v, len(d.b)-d.off)
		return 0
	}
	return int(v)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.fail("%d bytes wanted, %d left", n, len(d.b)-d.off)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *decoder) string() string {
	n := d.count(1)
	s := string(d.bytes(n))
	if d.err == nil && !utf8.ValidString(s) {
		d.fail("string is not valid UTF-8")
	}
	return s
}

func (d *decoder) uint64() uint64 {
	p := d.bytes(8)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(p)
}

// decodePayload decodes and checks one payload.
func decodePayload(p []byte) (*entry, error) {
	d := &decoder{b: p}
	e := &entry{op: d.byte()}
	e.namespace = d.string()
	if d.err == nil {
		if err := validNamespace(e.namespace); err != nil {
			d.fail("%v", err)
		}
	}
	switch e.op {
	case opUpsert:
		d.upsertBody(e)
	case opDelete:
		n := d.count(2)
		if d.err == nil && n == 0 {
			d.fail("delete of no records")
		}
		e.ids = make([]string, n)
		for i := range e.ids {
			e.ids[i] = d.id()
		}
	case opEnd:
		e.spaces = d.uvarint()
		e.records = d.uvarint()
	case opGraph:
		d.graphBody(e)
	default:
		if d.err == nil {
			d.off--
			d.fail("unknown operation %d", e.op)
		}
	}
	if d.err == nil && d.off != len(p) {
		d.fail("%d trailing bytes", len(p)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return e, nil
}

func (d *decoder) id() string {
	id := d.string()
	if d.err == nil {
		if err := driver.ValidateID(id); err != nil {
			d.fail("%v", err)
		}
	}
	return id
}

func (d *decoder) upsertBody(e *entry) {
	dim := d.uvarint()
	if d.err == nil && (dim == 0 || dim > uint64(len(d.b))/4) {
		d.fail("dimension %d out of range", dim)
		return
	}
	e.dim = int(dim)
	// A record takes at least an ID (2 bytes), its vector and a metadata byte.
	n := d.count(3 + 4*e.dim)
	if d.err == nil && n == 0 {
		d.fail("upsert of no records")
	}
	if d.err != nil {
		return
	}
	e.recs = make([]index.Record, n)
	backing := make([]float32, n*e.dim)
	for i := range e.recs {
		r := &e.recs[i]
		r.ID = d.id()
		raw := d.bytes(4 * e.dim)
		if d.err != nil {
			return
		}
		v := backing[i*e.dim : (i+1)*e.dim : (i+1)*e.dim]
		getFloats(v, raw)
		if j := vecmath.Finite(v); j >= 0 {
			d.fail("record %q: vector element %d is %v", r.ID, j, v[j])
			return
		}
		r.Vector = v
		r.Metadata = d.metadata()
	}
}

func (d *decoder) metadata() index.Metadata {
	n := d.uvarint()
	if n == 0 || d.err != nil {
		return nil
	}
	n--
	// A field takes at least a key (2 bytes) and a tag.
	if n > uint64(len(d.b)-d.off)/3 {
		d.fail("metadata count %d exceeds the %d bytes left", n, len(d.b)-d.off)
		return nil
	}
	md := make(index.Metadata, n)
	prev := ""
	for i := range int(n) {
		k := d.string()
		if d.err != nil {
			return nil
		}
		if k == "" || k[0] == '$' {
			d.fail("metadata key %q is empty or starts with '$'", k)
			return nil
		}
		if i > 0 && k <= prev {
			d.fail("metadata key %q is not after %q", k, prev)
			return nil
		}
		prev = k
		switch tag := d.byte(); tag {
		case tagString:
			md[k] = d.string()
		case tagFalse:
			md[k] = false
		case tagTrue:
			md[k] = true
		case tagInt64:
			md[k] = int64(d.uint64())
		case tagFloat64:
			f := math.Float64frombits(d.uint64())
			if math.IsNaN(f) || math.IsInf(f, 0) {
				d.fail("metadata %q: number %v is not finite", k, f)
			}
			md[k] = f
		case tagStrings:
			md[k] = d.stringList()
		default:
			if d.err == nil {
				d.off--
				d.fail("metadata %q: unknown type tag %d", k, tag)
			}
		}
	}
	if d.err == nil && md.Size() > index.MaxMetadataBytes {
		d.fail("metadata of %d bytes, more than %d", md.Size(), index.MaxMetadataBytes)
	}
	return md
}

func (d *decoder) stringList() []string {
	n := d.uvarint()
	if n == 0 || d.err != nil {
		return nil
	}
	n--
	if n > uint64(len(d.b)-d.off) {
		d.fail("list length %d exceeds the %d bytes left", n, len(d.b)-d.off)
		return nil
	}
	list := make([]string, n)
	for i := range list {
		list[i] = d.string()
	}
	return list
}

// validNamespace checks a namespace name (driver.ValidateNamespace).
func validNamespace(ns string) error { return driver.ValidateNamespace(ns) }

func sortedKeys(md index.Metadata) []string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
