package memory

import (
	"fmt"
	"math"
	"slices"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// space is one namespace: its records in slots, vectors contiguous in one
// slab so that a query streams through memory. Without a graph, deleting a
// record moves the last one into its slot; under a graph (see hnsw.go) it
// leaves a tombstone: the slot keeps its vector, its ID becomes "" and its
// metadata nil, and every scan skips it.
type space struct {
	dim   int
	ids   []string         // slot → ID, "" for a tombstone
	vecs  []float32        // slot i is vecs[i*dim : (i+1)*dim], as upserted
	inv   []float32        // slot → 1/‖v‖, under Cosine only
	meta  []index.Metadata // slot → metadata, as normalised on upsert
	slots map[string]int   // ID → slot
	g     *hnsw            // the graph of [WithHNSW], or nil
}

// len returns the number of records.
func (sp *space) len() int { return len(sp.slots) }

// slotCount returns the number of slots, tombstones included.
func (sp *space) slotCount() int { return len(sp.ids) }

func (sp *space) vector(i int) []float32 {
	return sp.vecs[i*sp.dim : (i+1)*sp.dim : (i+1)*sp.dim]
}

// record returns a copy of slot i that the caller may keep and change.
func (sp *space) record(i int) index.Record {
	return index.Record{ID: sp.ids[i], Vector: slices.Clone(sp.vector(i)), Metadata: sp.meta[i].Clone()}
}

// put stores r (whose vector has length sp.dim) in its slot, or in a new
// one. inv is its inverse norm under Cosine and ignored otherwise. put keeps
// r's vector and metadata slices only by copy and by reference respectively:
// the metadata must not be shared with the caller. Under a graph a record
// whose vector changes becomes a tombstone and r takes a new slot, which
// the caller then links into the graph.
func (sp *space) put(r index.Record, inv float32) {
	if i, ok := sp.slots[r.ID]; ok {
		if sp.g != nil && !slices.Equal(sp.vector(i), r.Vector) {
			sp.remove(r.ID)
		} else {
			copy(sp.vector(i), r.Vector)
			sp.meta[i] = r.Metadata
			if sp.inv != nil {
				sp.inv[i] = inv
			}
			return
		}
	}
	sp.slots[r.ID] = len(sp.ids)
	sp.ids = append(sp.ids, r.ID)
	sp.vecs = append(sp.vecs, r.Vector...)
	sp.meta = append(sp.meta, r.Metadata)
	if sp.inv != nil {
		sp.inv = append(sp.inv, inv)
	}
}

// remove deletes id and reports whether it was there.
func (sp *space) remove(id string) bool {
	i, ok := sp.slots[id]
	if !ok {
		return false
	}
	delete(sp.slots, id)
	if sp.g != nil {
		sp.ids[i], sp.meta[i] = "", nil
		return true
	}
	last := len(sp.ids) - 1
	if i != last {
		copy(sp.vector(i), sp.vector(last))
		sp.ids[i] = sp.ids[last]
		sp.meta[i] = sp.meta[last]
		if sp.inv != nil {
			sp.inv[i] = sp.inv[last]
		}
		sp.slots[sp.ids[i]] = i
	}
	sp.ids[last] = ""
	sp.meta[last] = nil
	sp.ids = sp.ids[:last]
	sp.meta = sp.meta[:last]
	sp.vecs = sp.vecs[:last*sp.dim]
	if sp.inv != nil {
		sp.inv = sp.inv[:last]
	}
	if cap(sp.ids) > 64 && len(sp.ids) < cap(sp.ids)/4 {
		sp.shrink()
	}
	return true
}

// dropTombstones moves the records down over the tombstones, in order, and
// forgets the graph (whose nodes were the old slots).
func (sp *space) dropTombstones() {
	sp.g = nil
	j := 0
	for i, id := range sp.ids {
		if id == "" {
			continue
		}
		if i != j {
			copy(sp.vector(j), sp.vector(i))
			sp.ids[j], sp.meta[j] = id, sp.meta[i]
			if sp.inv != nil {
				sp.inv[j] = sp.inv[i]
			}
			sp.slots[id] = j
		}
		j++
	}
	clear(sp.ids[j:])
	clear(sp.meta[j:])
	sp.ids, sp.meta, sp.vecs = sp.ids[:j], sp.meta[:j], sp.vecs[:j*sp.dim]
	if sp.inv != nil {
		sp.inv = sp.inv[:j]
	}
	sp.shrink()
}

// shrink gives back the memory of a namespace that lost most of its records.
func (sp *space) shrink() {
	sp.ids = slices.Clip(slices.Clone(sp.ids))
	sp.meta = slices.Clip(slices.Clone(sp.meta))
	sp.vecs = slices.Clip(slices.Clone(sp.vecs))
	if sp.inv != nil {
		sp.inv = slices.Clip(slices.Clone(sp.inv))
	}
}

// state is the contents of a store: its settings and namespaces. The Store
// guards it with its mutex; loading a file fills one directly.
type state struct {
	metric index.Metric
	dim    int // store-wide dimension, 0 for none
	spaces map[string]*space
	ann    *hnswParams // [WithHNSW], or nil
	// deferIndex holds off building graphs while a snapshot loads (its
	// graphs come after the records).
	deferIndex bool
}

func newState(metric index.Metric, dim int) *state {
	return &state{metric: metric, dim: dim, spaces: make(map[string]*space)}
}

// dimFor returns the dimension vectors of ns must have, 0 if not fixed yet.
func (st *state) dimFor(ns string) int {
	if st.dim > 0 {
		return st.dim
	}
	if sp := st.spaces[ns]; sp != nil {
		return sp.dim
	}
	return 0
}

// checkDim reports whether vectors of length dim may go into ns.
func (st *state) checkDim(ns string, dim int) error {
	if want := st.dimFor(ns); want > 0 && dim != want {
		return fmt.Errorf("%w: got %d, namespace %q has %d", index.ErrDimension, dim, ns, want)
	}
	return nil
}

// inverseNorms returns, under Cosine, 1/‖v‖ for each record, rejecting a
// vector with no direction; otherwise nil.
func inverseNorms(metric index.Metric, recs []index.Record) ([]float32, error) {
	if metric != index.Cosine {
		return nil, nil
	}
	inv := make([]float32, len(recs))
	for i, r := range recs {
		x, err := inverseNorm(r.Vector)
		if err != nil {
			return nil, &index.ItemError{Index: i, ID: r.ID, Err: err}
		}
		inv[i] = x
	}
	return inv, nil
}

func inverseNorm(v []float32) (float32, error) {
	n := vecmath.Norm(v)
	if n == 0 {
		return 0, fmt.Errorf("%w: all elements are zero, which has no cosine", index.ErrInvalidVector)
	}
	x := float32(1 / n)
	if math.IsInf(float64(x), 0) {
		return 0, fmt.Errorf("%w: norm %g is too small to normalise", index.ErrInvalidVector, n)
	}
	return x, nil
}

// upsert writes checked records (see checkDim and inverseNorms) into ns,
// creating it if needed. It keeps the records' metadata maps.
func (st *state) upsert(ns string, recs []index.Record, inv []float32) {
	sp := st.spaces[ns]
	if sp == nil {
		sp = &space{dim: len(recs[0].Vector), slots: make(map[string]int, len(recs))}
		if st.metric == index.Cosine {
			sp.inv = make([]float32, 0, len(recs))
		}
		st.spaces[ns] = sp
	}
	if cap(sp.ids)-len(sp.ids) < len(recs) {
		// Room for the batch at once: a bulk load into a new namespace
		// then leaves no capacity unused, where appending record by
		// record leaves up to a quarter of the slab (append grows large
		// slices by 1.25×).
		n := len(recs)
		sp.ids = slices.Grow(sp.ids, n)
		sp.meta = slices.Grow(sp.meta, n)
		sp.vecs = slices.Grow(sp.vecs, n*sp.dim)
		if sp.inv != nil {
			sp.inv = slices.Grow(sp.inv, n)
		}
	}
	for i, r := range recs {
		var x float32
		if inv != nil {
			x = inv[i]
		}
		sp.put(r, x)
	}
	st.index(sp)
}

// index brings sp's graph up to date: new slots are linked in (on several
// goroutines for a bulk load); a namespace that reaches the threshold gets
// its graph; one mostly made of tombstones is compacted and built again.
func (st *state) index(sp *space) {
	switch {
	case !st.ann.on() || st.deferIndex:
	case sp.g != nil && 2*(sp.slotCount()-sp.len()) > sp.slotCount():
		sp.dropTombstones()
		fallthrough
	case sp.g == nil:
		if sp.len() >= st.ann.threshold {
			sp.g = buildHNSW(*st.ann, st.metric, sp)
		}
	default:
		sp.g.extend()
	}
}

// remove deletes ids from ns and returns how many were there. A namespace
// left empty is dropped, so its dimension is free again.
func (st *state) remove(ns string, ids []string) int {
	sp := st.spaces[ns]
	if sp == nil {
		return 0
	}
	n := 0
	for _, id := range ids {
		if sp.remove(id) {
			n++
		}
	}
	if sp.len() == 0 {
		delete(st.spaces, ns)
		return n
	}
	st.index(sp)
	return n
}

// records returns the number of records in every namespace.
func (st *state) records() int {
	n := 0
	for _, sp := range st.spaces {
		n += sp.len()
	}
	return n
}
