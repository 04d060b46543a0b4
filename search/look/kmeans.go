package look

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// nearestRows returns, for each of the n rows of x (or rows idx when not
// nil, reported by position in idx), the p nearest of the k rows of c by
// Euclidean distance, with keys ‖c‖² − 2x·c.
func nearestRows(ctx context.Context, conc int, x []float32, d int, idx []int32, n int, c []float32, k, p int) (*vecmath.NearestK, error) {
	nk := vecmath.NewNearestK(n, p)
	var pos map[int32]int
	if idx != nil {
		pos = make(map[int32]int, len(idx))
		for i, v := range idx {
			pos[v] = i
		}
	}
	cn := squaredNorms(c, k, d)
	err := joinRows(ctx, conc, index.Euclidean, x, d, idx, n, c, k, cn, func(q int, keys []float32, t0 int) {
		if pos != nil {
			q = pos[int32(q)]
		}
		nk.Offer(q, keys, t0, -1)
	})
	return nk, err
}

// kmeans clusters the n rows of x (dimension d) into k clusters with
// Lloyd's algorithm from a k-means++ start (plusPlus) or from k distinct
// random rows, for at most iters iterations, seeded. It returns the
// centroids (k × d) and each row's cluster. Empty clusters are reseeded with
// the row farthest from its centroid. Deterministic for a seed.
func kmeans(ctx context.Context, conc int, x []float32, n, d, k, iters int, seed uint64, plusPlus bool) ([]float32, []int32, error) {
	k = min(k, n)
	r := rand.New(rand.NewPCG(seed, 0x6b6d))
	c := make([]float32, k*d)
	if plusPlus {
		kmeansPlusPlus(x, n, d, k, r, c)
	} else {
		perm := r.Perm(n)
		for j := range k {
			copy(c[j*d:(j+1)*d], x[perm[j]*d:(perm[j]+1)*d])
		}
	}
	assign := make([]int32, n)
	for i := range assign {
		assign[i] = -1
	}
	xn := squaredNorms(x, n, d)
	sums := make([]float64, k*d)
	counts := make([]int, k)
	for it := range iters {
		nk, err := nearestRows(ctx, conc, x, d, nil, n, c, k, 1)
		if err != nil {
			return nil, nil, err
		}
		changed := 0
		for i := range n {
			a := nk.Index[i]
			if a != assign[i] {
				changed++
				assign[i] = a
			}
		}
		if changed == 0 && it > 0 {
			break
		}
		clear(sums)
		clear(counts)
		for i := range n {
			a := int(assign[i])
			counts[a]++
			row := sums[a*d : (a+1)*d]
			for j, v := range x[i*d : (i+1)*d] {
				row[j] += float64(v)
			}
		}
		for j := range k {
			if counts[j] == 0 {
				continue
			}
			inv := 1 / float64(counts[j])
			for t := range d {
				c[j*d+t] = float32(sums[j*d+t] * inv)
			}
		}
		// Reseed empty clusters with the rows farthest from their centroid.
		for j := range k {
			if counts[j] > 0 {
				continue
			}
			far, best := -1, float32(-1)
			for i := range n {
				dist := xn[i] + nk.Key[i]
				if dist > best && counts[assign[i]] > 1 {
					far, best = i, dist
				}
			}
			if far < 0 {
				continue
			}
			counts[assign[far]]--
			assign[far] = int32(j)
			counts[j] = 1
			nk.Key[far] = -xn[far]
			copy(c[j*d:(j+1)*d], x[far*d:(far+1)*d])
		}
	}
	return c, assign, nil
}

// kmeansPlusPlus picks k starting centroids by D² sampling (Arthur and
// Vassilvitskii), writing them into c.
func kmeansPlusPlus(x []float32, n, d, k int, r *rand.Rand, c []float32) {
	first := r.IntN(n)
	copy(c[:d], x[first*d:(first+1)*d])
	dist := make([]float64, n)
	for i := range n {
		dist[i] = float64(vecmath.SquaredL2(x[i*d:(i+1)*d], c[:d]))
	}
	for j := 1; j < k; j++ {
		total := 0.0
		for _, v := range dist {
			total += v
		}
		pick := 0
		if total > 0 {
			u := r.Float64() * total
			for i, v := range dist {
				u -= v
				if u <= 0 {
					pick = i
					break
				}
				pick = i
			}
		} else {
			pick = r.IntN(n)
		}
		cj := c[j*d : (j+1)*d]
		copy(cj, x[pick*d:(pick+1)*d])
		for i := range n {
			if v := float64(vecmath.SquaredL2(x[i*d:(i+1)*d], cj)); v < dist[i] {
				dist[i] = v
			}
		}
	}
}

func sqrt(x float64) float64 { return math.Sqrt(x) }
