package memory

// The graph of a namespace in a snapshot, so that reopening a large store
// does not build its graphs again (see codec.go for the framing). After the
// records of a namespace with a graph come its graph entries:
//
//	graph body = version:uvarint first:uvarint head? count:uvarint node{count}
//	head       = (first == 0 only) m:uvarint dim:uvarint slots:uvarint
//	             entry:uvarint top:uvarint tombstones:uvarint tomb{tombstones}
//	             quantizer:u8 (0 none; 1 int8, then lo:float32{dim} scale:float32{dim})
//	tomb       = slot:uvarint float32{dim}   (slots strictly increasing)
//	node       = level:u8 list{level+1}
//	list       = count:uvarint neighbour:u32{count}
//
// Node n is slot n: the namespace's records, in the order the snapshot holds
// them, fill the slots that are not tombstones. Each entry carries its own
// CRC like every entry; the decoded graph is checked (node count, list
// lengths, neighbours in range, the entry point's level) before it is used,
// so a damaged section is a *CorruptError, never a wrong result. A graph
// saved with another m than the store's is built again instead.

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// graphVersion is the layout of graph entries this build writes and reads.
const graphVersion = 1

const opGraph byte = 4

// graphHead is the first graph entry's header.
type graphHead struct {
	m, dim, slots, entry, top int
	tombs                     []int       // tombstone slots
	tombVecs                  [][]float32 // their vectors
	lo, scale                 []float32   // the int8 quantizer's ranges, or nil
}

// graphChunk is one decoded graph entry: nodes first… with their lists.
type graphChunk struct {
	first int
	head  *graphHead
	nodes [][][]int32 // node → level → neighbours
}

// appendGraphEntries appends the graph entries of namespace ns (graph g) to
// buf, calling flush whenever buf holds about snapshotChunk bytes.
func appendGraphEntries(buf []byte, ns string, g *hnsw, flush func([]byte) ([]byte, error)) ([]byte, error) {
	n := g.nodes()
	first := 0
	for first < n || first == 0 {
		start := len(buf)
		buf = append(buf, make([]byte, entryHeaderSize)...)
		buf = append(buf, opGraph)
		buf = appendString(buf, ns)
		buf = binary.AppendUvarint(buf, graphVersion)
		buf = binary.AppendUvarint(buf, uint64(first))
		if first == 0 {
			buf = binary.AppendUvarint(buf, uint64(g.p.m))
			buf = binary.AppendUvarint(buf, uint64(g.dim))
			buf = binary.AppendUvarint(buf, uint64(n))
			buf = binary.AppendUvarint(buf, uint64(max(g.entry, 0)))
			buf = binary.AppendUvarint(buf, uint64(g.top))
			var tombs []int
			for i := range n {
				if g.dead(int32(i)) {
					tombs = append(tombs, i)
				}
			}
			buf = binary.AppendUvarint(buf, uint64(len(tombs)))
			for _, i := range tombs {
				buf = binary.AppendUvarint(buf, uint64(i))
				buf = appendFloats(buf, g.sp.vector(i))
			}
			if g.sq == nil {
				buf = append(buf, 0)
			} else {
				buf = append(buf, 1)
				buf = appendFloats(appendFloats(buf, g.sq.lo), g.sq.scale)
			}
		}
		// The node count goes before the nodes: find how many fit.
		last, size := first, 0
		for last < n && size < snapshotChunk {
			for l := 0; l <= int(g.levels[last]); l++ {
				size += 2 + 4*int(g.list(int32(last), l)[0])
			}
			last++
		}
		buf = binary.AppendUvarint(buf, uint64(last-first))
		for i := first; i < last; i++ {
			buf = append(buf, g.levels[i])
			for l := 0; l <= int(g.levels[i]); l++ {
				b := g.list(int32(i), l)
				buf = binary.AppendUvarint(buf, uint64(b[0]))
				for _, nb := range b[1 : 1+b[0]] {
					buf = binary.LittleEndian.AppendUint32(buf, uint32(nb))
				}
			}
		}
		putEntryHeader(buf[start:start+entryHeaderSize], buf[start+entryHeaderSize:])
		var err error
		if buf, err = flush(buf); err != nil {
			return buf, err
		}
		if last == n {
			break
		}
		first = last
	}
	return buf, nil
}

// graphBody decodes a graph entry's body into e.graph.
func (d *decoder) graphBody(e *entry) {
	if v := d.uvarint(); d.err == nil && v != graphVersion {
		d.fail("graph layout version %d, this build reads %d", v, graphVersion)
		return
	}
	c := &graphChunk{first: int(d.count(1))}
	if d.err == nil && c.first == 0 {
		h := &graphHead{m: d.count(1), dim: d.count(1), slots: d.count(1)}
		h.entry, h.top = int(d.uvarint()), int(d.uvarint())
		nt := d.count(1 + 4*max(h.dim, 1))
		prev := -1
		for range nt {
			i := int(d.uvarint())
			if d.err == nil && (i <= prev || i >= h.slots) {
				d.fail("tombstone slot %d out of order or past %d slots", i, h.slots)
			}
			prev = i
			v := d.floats(h.dim)
			h.tombs, h.tombVecs = append(h.tombs, i), append(h.tombVecs, v)
		}
		switch d.byte() {
		case 0:
		case 1:
			h.lo, h.scale = d.floats(h.dim), d.floats(h.dim)
			for j, x := range h.scale {
				if d.err == nil && (!(x > 0) || math.IsInf(float64(x), 0) || math.IsNaN(float64(h.lo[j])) || math.IsInf(float64(h.lo[j]), 0)) {
					d.fail("quantizer range %d: lo %g, scale %g", j, h.lo[j], x)
				}
			}
		default:
			d.off--
			d.fail("unknown quantizer %d", d.b[d.off])
		}
		c.head = h
	}
	c.nodes = make([][][]int32, d.count(2))
	for i := range c.nodes {
		level := int(d.byte())
		lists := make([][]int32, level+1)
		for l := range lists {
			lists[l] = make([]int32, d.count(4))
			for j := range lists[l] {
				p := d.bytes(4)
				if p != nil {
					lists[l][j] = int32(binary.LittleEndian.Uint32(p))
				}
			}
		}
		c.nodes[i] = lists
	}
	e.graph = c
}

// graphLoader assembles the graphs of a snapshot being loaded.
type graphLoader struct {
	st     *state
	graphs map[string]*hnsw // namespaces whose graph is being read
	skip   map[string]bool  // namespaces whose saved graph is not used
	done   map[string]bool
}

func newGraphLoader(st *state) *graphLoader {
	return &graphLoader{st: st, graphs: map[string]*hnsw{}, skip: map[string]bool{}, done: map[string]bool{}}
}

// apply takes one graph entry of namespace ns.
func (gl *graphLoader) apply(ns string, c *graphChunk) error {
	sp := gl.st.spaces[ns]
	if sp == nil {
		return fmt.Errorf("graph of namespace %q, which has no records", ns)
	}
	if gl.done[ns] {
		return fmt.Errorf("graph of namespace %q after its last node", ns)
	}
	if c.head != nil {
		if _, ok := gl.graphs[ns]; ok || gl.skip[ns] {
			return fmt.Errorf("graph of namespace %q starts twice", ns)
		}
		h := c.head
		if h.dim != sp.dim || h.slots != sp.len()+len(h.tombs) {
			return fmt.Errorf("graph of namespace %q has %d slots of dimension %d for %d records and %d tombstones of dimension %d",
				ns, h.slots, h.dim, sp.len(), len(h.tombs), sp.dim)
		}
		if h.m < 2 || h.slots == 0 || h.entry >= h.slots {
			return fmt.Errorf("graph of namespace %q: m %d, entry %d of %d nodes", ns, h.m, h.entry, h.slots)
		}
		if !gl.st.ann.on() || gl.st.ann.m != h.m || gl.st.ann.int8 != (h.lo != nil) {
			gl.skip[ns] = true // built again, with the store's settings, at the end
			return nil
		}
		if err := sp.insertTombstones(gl.st.metric, h.tombs, h.tombVecs); err != nil {
			return fmt.Errorf("graph of namespace %q: %w", ns, err)
		}
		g := newHNSW(*gl.st.ann, gl.st.metric, sp)
		if h.lo != nil {
			g.sq = &scalarQuantizer{dim: h.dim, lo: h.lo, scale: h.scale}
			buf := make([]float32, h.dim)
			for n := range h.slots {
				g.sq.add(g.query(int32(n), buf))
			}
		}
		g.links0 = make([]int32, h.slots*g.stride0)
		g.levels = make([]uint8, 0, h.slots)
		g.entry, g.top = int32(h.entry), h.top
		gl.graphs[ns] = g
	}
	if gl.skip[ns] {
		return nil
	}
	g := gl.graphs[ns]
	if g == nil {
		return fmt.Errorf("graph of namespace %q without its first entry", ns)
	}
	if c.first != g.nodes() || c.first+len(c.nodes) > sp.slotCount() {
		return fmt.Errorf("graph of namespace %q: nodes %d to %d, want from %d of %d", ns, c.first, c.first+len(c.nodes), g.nodes(), sp.slotCount())
	}
	slots := int32(sp.slotCount())
	for i, lists := range c.nodes {
		n := int32(c.first + i)
		level := len(lists) - 1
		g.levels = append(g.levels, uint8(level))
		if level > 0 {
			g.upper[n] = make([]int32, level*g.strideU)
		}
		for l, nbs := range lists {
			maxM := g.p.m
			if l == 0 {
				maxM = 2 * g.p.m
			}
			if len(nbs) > maxM {
				return fmt.Errorf("graph of namespace %q: node %d has %d neighbours at level %d, at most %d", ns, n, len(nbs), l, maxM)
			}
			for _, nb := range nbs {
				if nb < 0 || nb >= slots || nb == n {
					return fmt.Errorf("graph of namespace %q: node %d links to node %d of %d", ns, n, nb, slots)
				}
			}
			g.setList(n, l, nbs)
		}
	}
	if g.nodes() == sp.slotCount() {
		if int(g.levels[g.entry]) != g.top || slices.Max(g.levels) != uint8(g.top) {
			return fmt.Errorf("graph of namespace %q: entry %d at level %d, top level %d", ns, g.entry, g.levels[g.entry], g.top)
		}
		for n := range g.nodes() { // a link to a level its neighbour lacks
			for l := 1; l <= int(g.levels[n]); l++ {
				for _, nb := range g.neighbours(int32(n), l, nil) {
					if int(g.levels[nb]) < l {
						return fmt.Errorf("graph of namespace %q: node %d links at level %d to node %d of level %d", ns, n, l, nb, g.levels[nb])
					}
				}
			}
		}
		sp.g = g
		gl.done[ns] = true
		delete(gl.graphs, ns)
	}
	return nil
}

// finish checks that every graph begun was read whole, and builds the graphs
// the snapshot lacked (or held with other settings).
func (gl *graphLoader) finish() error {
	for ns, g := range gl.graphs {
		return fmt.Errorf("graph of namespace %q ends after %d of %d nodes", ns, g.nodes(), g.sp.slotCount())
	}
	for _, sp := range gl.st.spaces {
		if sp.g == nil {
			gl.st.index(sp)
		}
	}
	return nil
}

// insertTombstones rebuilds sp's slots with tombstones (vectors vecs) at
// slots tombs, the records filling the others in order.
func (sp *space) insertTombstones(metric index.Metric, tombs []int, vecs [][]float32) error {
	if len(tombs) == 0 {
		return nil
	}
	n := sp.len() + len(tombs)
	ids := make([]string, 0, n)
	meta := make([]index.Metadata, 0, n)
	out := make([]float32, 0, n*sp.dim)
	var inv []float32
	if sp.inv != nil {
		inv = make([]float32, 0, n)
	}
	next := 0
	for slot := range n {
		if len(tombs) > 0 && tombs[0] == slot {
			v := vecs[0]
			tombs, vecs = tombs[1:], vecs[1:]
			if metric == index.Cosine {
				x, err := inverseNorm(v)
				if err != nil {
					return fmt.Errorf("tombstone %d: %w", slot, err)
				}
				inv = append(inv, x)
			}
			ids, meta, out = append(ids, ""), append(meta, nil), append(out, v...)
			continue
		}
		ids, meta, out = append(ids, sp.ids[next]), append(meta, sp.meta[next]), append(out, sp.vector(next)...)
		if inv != nil {
			inv = append(inv, sp.inv[next])
		}
		sp.slots[sp.ids[next]] = slot
		next++
	}
	sp.ids, sp.meta, sp.vecs, sp.inv = ids, meta, out, inv
	return nil
}

// floats reads n finite float32s.
func (d *decoder) floats(n int) []float32 {
	p := d.bytes(4 * n)
	if p == nil {
		return nil
	}
	v := make([]float32, n)
	getFloats(v, p)
	if j := vecmath.Finite(v); j >= 0 {
		d.fail("element %d is %v", j, v[j])
		return nil
	}
	return v
}
