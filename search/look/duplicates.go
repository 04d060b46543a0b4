package look

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/shoalhq/shoal/index"
)

// Pair is two items within the duplicate threshold.
type Pair struct {
	// A and B are the items' IDs; with [WithAcross] A has the first value
	// and B the second, otherwise A is the item scanned first.
	A, B string
	// IndexA and IndexB are the items in the space.
	IndexA, IndexB int
	// Distance is as [Space.Distance] measures it.
	Distance float64
}

// Duplicates is the result of [Space.Duplicates].
type Duplicates struct {
	// Pairs are the pairs found, nearest first (ties by IDs).
	Pairs []Pair
	// Truncated reports that more pairs were within the threshold than
	// [WithMaxPairs] allows; Pairs holds the nearest.
	Truncated bool
	// Method is "exact" or "ivf" (see [Space.Neighbors]); "ivf" can miss a
	// pair whose items fall in lists neither probes.
	Method string
}

// Duplicates returns the pairs of items at most threshold apart (distance
// as [Space.Distance] measures it: under cosine, 0.01 is a cosine
// similarity of at least 0.99), each pair once. With [WithAcross] it
// returns only pairs across two values of a metadata field — train items
// duplicated in the test split, say.
//
// Up to [WithExactLimit] items the search is exact (blocked GEMM over
// every pair, or over every cross pair with WithAcross); above it, it uses
// the inverted file of [Space.Neighbors] and can miss pairs.
//
// Options: WithAcross, WithMaxPairs, WithConcurrency, WithExactLimit,
// WithApproximate, WithSeed; any other is an error.
func (sp *Space) Duplicates(ctx context.Context, threshold float64, opts ...Option) (*Duplicates, error) {
	if ctx == nil {
		return nil, errorf(index.ErrInvalidArgument, "Space.Duplicates: nil context")
	}
	if !(threshold >= 0) || math.IsInf(threshold, 1) {
		return nil, errorf(ErrInvalidOption, "Space.Duplicates: threshold %v (want a finite number ≥ 0)", threshold)
	}
	c, err := newConfig(callDuplicates, opts)
	if err != nil {
		return nil, err
	}
	n, d := sp.Len(), sp.dim
	res := &Duplicates{Method: "exact"}
	if n < 2 {
		return res, nil
	}
	xn := sp.norms()
	qnorm := func(q int) float32 {
		if xn == nil {
			return 0
		}
		return xn[q]
	}
	var (
		mu    sync.Mutex
		limit = threshold
		found = map[[2]int32]float64{}
	)
	add := func(a, b int, dist float64) {
		if dist > limit {
			return
		}
		found[[2]int32{int32(a), int32(b)}] = dist
		if len(found) > 2*c.maxPairs {
			limit = trimPairs(found, c.maxPairs)
			res.Truncated = true
		}
	}
	isA := func(i int) bool { return index.Eq(c.acrossField, c.acrossA).Match(sp.meta[i]) }
	isB := func(i int) bool { return index.Eq(c.acrossField, c.acrossB).Match(sp.meta[i]) }
	// scan offers the keys of query q against targets t0+j (mapped by
	// tmap when not nil) and keeps those within the limit.
	scan := func(q int, keys []float32, t0 int, tmap []int32, selfOrder bool) {
		qn := qnorm(q)
		mu.Lock()
		kmax := distanceToKey(sp.metric, limit, qn)
		mu.Unlock()
		for j, key := range keys {
			if key > kmax {
				continue
			}
			t := t0 + j
			if tmap != nil {
				t = int(tmap[t])
			}
			if t == q || (selfOrder && t < q) {
				continue
			}
			dist := keyToDistance(sp.metric, key, qn)
			a, b := q, t
			if !c.across && b < a {
				a, b = b, a
			}
			mu.Lock()
			add(a, b, dist)
			kmax = distanceToKey(sp.metric, limit, qn)
			mu.Unlock()
		}
	}
	switch {
	case n > c.exactLimit:
		res.Method = "ivf"
		iv, err := sp.buildIVF(ctx, &c)
		if err != nil {
			return nil, err
		}
		err = iv.join(ctx, c.concurrency, sp, func(q int, keys []float32, t0 int) {
			if c.across && !isA(q) {
				return
			}
			scan(q, keys, t0, iv.perm, false)
		})
		if err != nil {
			return nil, err
		}
		if c.across {
			for p := range found {
				if !isB(int(p[1])) {
					delete(found, p)
				}
			}
		}
	case c.across:
		var as, bs []int32
		for i := range n {
			if isA(i) {
				as = append(as, int32(i))
			}
			if isB(i) {
				bs = append(bs, int32(i))
			}
		}
		if len(as) == 0 || len(bs) == 0 {
			return res, nil
		}
		targets := scaledRows(make([]float32, 0, len(bs)*d), sp.vecs, d, bs, 0, 0, 1)
		var tadd []float32
		if xn != nil {
			tadd = make([]float32, len(bs))
			for j, b := range bs {
				tadd[j] = xn[b]
			}
		}
		err := joinRows(ctx, c.concurrency, sp.metric, sp.vecs, d, as, len(as), targets, len(bs), tadd, func(q int, keys []float32, t0 int) {
			scan(q, keys, t0, bs, false)
		})
		if err != nil {
			return nil, err
		}
	default:
		err := joinRows(ctx, c.concurrency, sp.metric, sp.vecs, d, nil, n, sp.vecs, n, xn, func(q int, keys []float32, t0 int) {
			if t0+len(keys) <= q {
				return // the pair was seen from the other side
			}
			scan(q, keys, t0, nil, true)
		})
		if err != nil {
			return nil, err
		}
	}
	if len(found) > c.maxPairs {
		trimPairs(found, c.maxPairs)
		res.Truncated = true
	}
	res.Pairs = make([]Pair, 0, len(found))
	for p, dist := range found {
		a, b := int(p[0]), int(p[1])
		res.Pairs = append(res.Pairs, Pair{A: sp.ids[a], B: sp.ids[b], IndexA: a, IndexB: b, Distance: dist})
	}
	sortPairs(res.Pairs)
	return res, nil
}

func sortPairs(ps []Pair) {
	slices.SortFunc(ps, func(x, y Pair) int {
		if c := cmp.Compare(x.Distance, y.Distance); c != 0 {
			return c
		}
		if c := cmp.Compare(x.A, y.A); c != 0 {
			return c
		}
		return cmp.Compare(x.B, y.B)
	})
}

// trimPairs keeps the max nearest pairs of found and returns the largest
// distance kept.
func trimPairs(found map[[2]int32]float64, max int) float64 {
	type kv struct {
		p [2]int32
		d float64
	}
	all := make([]kv, 0, len(found))
	for p, d := range found {
		all = append(all, kv{p, d})
	}
	slices.SortFunc(all, func(x, y kv) int {
		if c := cmp.Compare(x.d, y.d); c != 0 {
			return c
		}
		if c := cmp.Compare(x.p[0], y.p[0]); c != 0 {
			return c
		}
		return cmp.Compare(x.p[1], y.p[1])
	})
	for _, e := range all[max:] {
		delete(found, e.p)
	}
	return all[max-1].d
}

// String describes the pair.
func (p Pair) String() string { return fmt.Sprintf("%s ~ %s (%.4g)", p.A, p.B, p.Distance) }
