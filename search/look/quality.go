package look

import (
	"context"
	"sync"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Quality measures how well a map keeps the space's neighbourhoods.
type Quality struct {
	// K is the neighbourhood size measured.
	K int
	// Trustworthiness (Venna and Kaski, 2001) is 1 minus a penalty for
	// each point that is among an item's k nearest on the map but not in
	// the space, weighted by how far down the space's ranking it is; 1 is
	// perfect, about 0.5 is random.
	Trustworthiness float64
	// KNNPreservation is the mean fraction of each item's k nearest
	// neighbours in the space that are also among its k nearest on the
	// map.
	KNNPreservation float64
}

// Quality measures the map against the space it was drawn from (the
// sampled items when the map is a sample): trustworthiness and kNN
// preservation at neighbourhood size k. It costs one exact pass over every
// pair of mapped items, in the space and on the map.
func (m *Map) Quality(ctx context.Context, k int) (Quality, error) {
	if ctx == nil {
		return Quality{}, errorf(index.ErrInvalidArgument, "Map.Quality: nil context")
	}
	sp := m.space
	n, d := sp.Len(), sp.dim
	if k < 1 || 3*k+1 >= 2*n {
		return Quality{}, errorf(nil, "%w: k = %d for %d points", ErrTooFew, k, n)
	}
	// k nearest on the map: exact, O(n²) in two dimensions.
	low := vecmath.NewNearestK(n, k)
	row := make([]float32, n)
	for i := range n {
		xi, yi := m.y[2*i], m.y[2*i+1]
		for j := range n {
			dx, dy := m.y[2*j]-xi, m.y[2*j+1]-yi
			row[j] = dx*dx + dy*dy
		}
		low.Offer(i, row, 0, i)
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return Quality{}, err
			}
		}
	}
	// k nearest in the space.
	c, err := newConfig(callNeighbors, nil)
	if err != nil {
		return Quality{}, err
	}
	c.k = k
	c.exactLimit = max(c.exactLimit, n)
	high, err := sp.neighbors(ctx, &c)
	if err != nil {
		return Quality{}, err
	}
	// For each map neighbour j of i that is not a space neighbour, its rank
	// in the space: 1 + the number of items nearer to i than j.
	type pending struct {
		j   int
		key float32
	}
	xn := sp.norms()
	s := queryScale(sp.metric)
	miss := make([][]pending, n)
	kept := 0
	for i := range n {
		_, li := low.Row(i)
		hi := high.index[i*k : (i+1)*k]
		for _, j := range li {
			if containsIdx(hi, j) {
				kept++
				continue
			}
			key := s * vecmath.Dot(sp.vec(i), sp.vec(int(j)))
			if xn != nil {
				key += xn[j]
			}
			miss[i] = append(miss[i], pending{int(j), key})
		}
	}
	counts := make([][]int, n)
	for i := range n {
		counts[i] = make([]int, len(miss[i]))
	}
	var mu sync.Mutex
	var idx []int32
	for i := range n {
		if len(miss[i]) > 0 {
			idx = append(idx, int32(i))
		}
	}
	err = joinRows(ctx, c.concurrency, sp.metric, sp.vecs, d, idx, len(idx), sp.vecs, n, xn, func(q int, keys []float32, t0 int) {
		local := make([]int, len(miss[q]))
		for t, key := range keys {
			if t0+t == q {
				continue
			}
			for p, ms := range miss[q] {
				if key < ms.key {
					local[p]++
				}
			}
		}
		mu.Lock()
		for p, v := range local {
			counts[q][p] += v
		}
		mu.Unlock()
	})
	if err != nil {
		return Quality{}, err
	}
	penalty := 0.0
	for i := range n {
		for p := range miss[i] {
			rank := counts[i][p] + 1
			penalty += float64(max(0, rank-k))
		}
	}
	nf, kf := float64(n), float64(k)
	return Quality{
		K:               k,
		Trustworthiness: 1 - 2/(nf*kf*(2*nf-3*kf-1))*penalty,
		KNNPreservation: float64(kept) / (nf * kf),
	}, nil
}

func containsIdx(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
