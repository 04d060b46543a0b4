package look

import (
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Method is how [Space.Map] projects the space to two dimensions.
type Method int

const (
	// PCA projects on the two principal components: fast, linear, keeps
	// the large-scale spread; clusters that differ in other directions
	// overlap.
	PCA Method = iota
	// Neighborhood is a UMAP-style neighbour-preserving layout (McInnes,
	// Healy and Melville, 2018): a kNN graph with fuzzy membership weights,
	// laid out by stochastic gradient descent with attraction along edges
	// and negative sampling, started from the PCA map. It keeps local
	// neighbourhoods, so clusters separate; distances between clusters
	// mean less.
	Neighborhood
)

// String returns "pca" or "neighborhood".
func (m Method) String() string {
	switch m {
	case PCA:
		return "pca"
	case Neighborhood:
		return "neighborhood"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Point is one item on a map.
type Point struct {
	ID       string
	X, Y     float64
	Metadata index.Metadata
}

// Map is a 2-D picture of a space: one point per item (or per sampled
// item, see [WithMapPoints]).
type Map struct {
	// Method is how the points were placed.
	Method Method
	// Points are the items and their coordinates.
	Points []Point
	// Explained is, for PCA, the fraction of the variance along each axis.
	Explained [2]float64
	// Total is the number of items in the space the map was drawn from.
	Total int

	space *Space // the mapped items, for the quality measures
	y     []float32
}

// Map projects the space to two dimensions with method. A space larger
// than [WithMapPoints] is sampled uniformly first (seeded), so the cost is
// bounded whatever the pool's size: PCA is one d×d covariance by GEMM and
// an eigendecomposition; the neighbour layout adds the exact kNN graph of
// the sample and a few hundred epochs of sequential SGD (deterministic for
// a seed).
//
// Options: WithMapPoints, WithSeed, WithMapNeighbors, WithMinDist,
// WithEpochs, WithConcurrency, WithExactLimit, WithApproximate; any other
// is an error.
func (sp *Space) Map(ctx context.Context, method Method, opts ...Option) (*Map, error) {
	if ctx == nil {
		return nil, errorf(index.ErrInvalidArgument, "Space.Map: nil context")
	}
	if method != PCA && method != Neighborhood {
		return nil, errorf(ErrInvalidOption, "Space.Map: unknown method %v", method)
	}
	c, err := newConfig(callMap, opts)
	if err != nil {
		return nil, err
	}
	sub := sp.sample(c.mapPoints, c.seed)
	n := sub.Len()
	if n < 3 || (method == Neighborhood && n <= c.mapNN) {
		return nil, errorf(nil, "%w: %d items to map with %v", ErrTooFew, n, method)
	}
	y, explained, err := pca2(sub)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if method == Neighborhood {
		cc := c
		cc.k, cc.weights = c.mapNN, nil
		g, err := sub.neighbors(ctx, &cc)
		if err != nil {
			return nil, err
		}
		y, err = layout(ctx, g, y, &c)
		if err != nil {
			return nil, err
		}
	}
	m := &Map{Method: method, Points: make([]Point, n), Total: sp.Len(), space: sub, y: y}
	if method == PCA {
		m.Explained = explained
	}
	for i := range n {
		m.Points[i] = Point{ID: sub.ids[i], X: float64(y[2*i]), Y: float64(y[2*i+1]), Metadata: sub.meta[i]}
	}
	return m, nil
}

// sample returns the space itself when it has at most max items, or a new
// space of max items chosen uniformly (in their original order).
func (sp *Space) sample(maxItems int, seed uint64) *Space {
	n := sp.Len()
	if n <= maxItems {
		return sp
	}
	r := newRand(seed, 0x3a9)
	pick := r.Perm(n)[:maxItems]
	slices.Sort(pick)
	sub := newSpace(sp.metric)
	sub.dim, sub.total = sp.dim, maxItems
	sub.ids = make([]string, maxItems)
	sub.meta = make([]index.Metadata, maxItems)
	sub.vecs = make([]float32, 0, maxItems*sp.dim)
	for j, i := range pick {
		sub.ids[j], sub.meta[j] = sp.ids[i], sp.meta[i]
		sub.vecs = append(sub.vecs, sp.vec(i)...)
	}
	return sub
}

// pca2 returns the coordinates of the space's items on its two principal
// components (x0, y0, x1, y1, …) and the fraction of variance on each.
func pca2(sp *Space) ([]float32, [2]float64, error) {
	n, d := sp.Len(), sp.dim
	mean := make([]float64, d)
	for i := range n {
		for j, v := range sp.vec(i) {
			mean[j] += float64(v)
		}
	}
	m32 := make([]float32, d)
	for j := range mean {
		mean[j] /= float64(n)
		m32[j] = float32(mean[j])
	}
	centred := make([]float32, n*d)
	for i := range n {
		row := centred[i*d : (i+1)*d]
		for j, v := range sp.vec(i) {
			row[j] = v - m32[j]
		}
	}
	cov := make([]float32, d*d)
	vecmath.Sgemm(true, false, d, d, n, centred, d, centred, d, true, cov, d)
	total := 0.0
	for i := range d {
		total += float64(cov[i*d+i]) / float64(n)
	}
	axes, vals, err := topEigen(cov, d, 2)
	if err != nil {
		return nil, [2]float64{}, err
	}
	var explained [2]float64
	for a := range 2 {
		if total > 0 {
			explained[a] = max(0, vals[a]/float64(n)) / total
		}
	}
	y := make([]float32, n*2)
	vecmath.Sgemm(false, true, n, 2, d, centred, d, axes, d, true, y, 2)
	return y, explained, nil
}

// layout runs the neighbour-preserving layout over the kNN graph g,
// starting from the coordinates init (rescaled to a box of side 20).
func layout(ctx context.Context, g *Graph, init []float32, c *config) ([]float32, error) {
	n, k := len(init)/2, g.K
	// Fuzzy membership of each directed edge: exp(−(d − ρᵢ)/σᵢ), with ρᵢ
	// the distance to the nearest neighbour and σᵢ such that the weights
	// of i's edges sum to log₂ k.
	target := math.Log2(float64(k))
	w := make([]float64, n*k)
	for i := range n {
		ds := g.dist[i*k : (i+1)*k]
		rho := math.Inf(1)
		for _, dv := range ds {
			if dv > 0 && !math.IsInf(float64(dv), 1) {
				rho = min(rho, float64(dv))
			}
		}
		if math.IsInf(rho, 1) {
			rho = 0
		}
		lo, hi, sigma := 0.0, math.Inf(1), 1.0
		for range 64 {
			s := 0.0
			for _, dv := range ds {
				if !math.IsInf(float64(dv), 1) {
					s += math.Exp(-max(0, float64(dv)-rho) / sigma)
				}
			}
			if math.Abs(s-target) < 1e-5 {
				break
			}
			if s > target {
				hi = sigma
				sigma = (lo + hi) / 2
			} else {
				lo = sigma
				if math.IsInf(hi, 1) {
					sigma *= 2
				} else {
					sigma = (lo + hi) / 2
				}
			}
		}
		sigma = max(sigma, 1e-3*meanFinite(ds))
		for j, dv := range ds {
			if g.index[i*k+j] >= 0 && !math.IsInf(float64(dv), 1) {
				w[i*k+j] = math.Exp(-max(0, float64(dv)-rho) / sigma)
			}
		}
	}
	// Symmetrise: w = a + b − a·b over both directions.
	type edge struct{ i, j int32 }
	sym := make(map[edge]float64, n*k)
	for i := range n {
		for j := range k {
			t := g.index[i*k+j]
			if t < 0 || int(t) == i || w[i*k+j] == 0 {
				continue
			}
			e := edge{int32(min(i, int(t))), int32(max(i, int(t)))}
			if prev, ok := sym[e]; ok {
				sym[e] = prev + w[i*k+j] - prev*w[i*k+j]
			} else {
				sym[e] = w[i*k+j]
			}
		}
	}
	edges := make([]edge, 0, 2*len(sym))
	for e := range sym {
		edges = append(edges, e)
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if a.i != b.i {
			return int(a.i - b.i)
		}
		return int(a.j - b.j)
	})
	maxW := 0.0
	for _, e := range edges {
		maxW = max(maxW, sym[e])
	}
	epochs := c.epochs
	if epochs == 0 {
		epochs = 500
		if n > 2_000 {
			epochs = 200
		}
	}
	// Edges too weak to be sampled once in the run are dropped, as UMAP
	// does.
	const negRate = 5
	var src, dst []int32
	var perSample []float64
	for _, e := range edges {
		we := sym[e]
		if we < maxW/float64(epochs) {
			continue
		}
		for _, dir := range [2]edge{e, {e.j, e.i}} {
			src, dst = append(src, dir.i), append(dst, dir.j)
			perSample = append(perSample, maxW/we)
		}
	}
	a, b := fitAB(c.minDist)
	y := rescale(init, 10)
	next := slices.Clone(perSample)
	perNeg := make([]float64, len(perSample))
	nextNeg := make([]float64, len(perSample))
	for e := range perSample {
		perNeg[e] = perSample[e] / negRate
		nextNeg[e] = perNeg[e]
	}
	r := newRand(c.seed, 0x0a11)
	af, bf := float32(a), float32(b)
	for ep := range epochs {
		if ep%16 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rate := float32(1 - float64(ep)/float64(epochs))
		for e := range src {
			if next[e] > float64(ep+1) {
				continue
			}
			i, j := int(src[e]), int(dst[e])
			vecmath.AttractRepel2D(y, i, j, af, bf, rate, true, true)
			next[e] += perSample[e]
			negs := int((float64(ep+1) - nextNeg[e]) / perNeg[e])
			for range max(0, negs) {
				t := r.IntN(n)
				if t == i {
					continue
				}
				vecmath.AttractRepel2D(y, i, t, af, bf, rate, false, false)
			}
			nextNeg[e] += float64(max(0, negs)) * perNeg[e]
		}
	}
	return y, nil
}

func meanFinite(ds []float32) float64 {
	s, c := 0.0, 0
	for _, d := range ds {
		if !math.IsInf(float64(d), 1) {
			s += float64(d)
			c++
		}
	}
	if c == 0 {
		return 1
	}
	return s / float64(c)
}

// rescale maps 2-D points to a box of side 2·half centred on 0, keeping
// the aspect ratio.
func rescale(y []float32, half float64) []float32 {
	out := slices.Clone(y)
	var lo, hi [2]float64
	for a := range 2 {
		lo[a], hi[a] = math.Inf(1), math.Inf(-1)
	}
	for i, v := range y {
		lo[i%2] = min(lo[i%2], float64(v))
		hi[i%2] = max(hi[i%2], float64(v))
	}
	span := max(hi[0]-lo[0], hi[1]-lo[1])
	if span == 0 {
		span = 1
	}
	for i, v := range y {
		mid := (lo[i%2] + hi[i%2]) / 2
		out[i] = float32((float64(v) - mid) / span * 2 * half)
	}
	return out
}

// fitAB fits UMAP's curve 1/(1 + a·d^(2b)) to the target membership
// (1 when d < minDist, exp(−(d − minDist)) beyond; spread 1) by least
// squares over a grid refined three times.
func fitAB(minDist float64) (float64, float64) {
	xs := make([]float64, 300)
	ys := make([]float64, 300)
	for i := range xs {
		x := 3 * float64(i+1) / 300
		xs[i] = x
		if x < minDist {
			ys[i] = 1
		} else {
			ys[i] = math.Exp(-(x - minDist))
		}
	}
	loss := func(a, b float64) float64 {
		s := 0.0
		for i, x := range xs {
			d := 1/(1+a*math.Pow(x, 2*b)) - ys[i]
			s += d * d
		}
		return s
	}
	bestA, bestB := 1.5, 0.9
	la0, la1, b0, b1 := math.Log(0.1), math.Log(20.0), 0.3, 2.0
	for range 3 {
		best := math.Inf(1)
		for ia := range 41 {
			la := la0 + (la1-la0)*float64(ia)/40
			for ib := range 41 {
				bb := b0 + (b1-b0)*float64(ib)/40
				if l := loss(math.Exp(la), bb); l < best {
					best, bestA, bestB = l, math.Exp(la), bb
				}
			}
		}
		wa, wb := (la1-la0)/10, (b1-b0)/10
		la0, la1 = math.Log(bestA)-wa, math.Log(bestA)+wa
		b0, b1 = max(0.05, bestB-wb), bestB+wb
	}
	return bestA, bestB
}

// topEigen returns the top r eigenvectors (r × d, each with its largest
// loading positive) and eigenvalues of the symmetric d×d matrix c, by
// seeded subspace iteration on a block of r+8 vectors with the GEMM
// kernel, then Rayleigh–Ritz on the block: O(d²) per iteration instead of
// the O(d³) of a full decomposition.
func topEigen(c []float32, d, r int) ([]float32, []float64, error) {
	p := min(d, r+8)
	rng := newRand(7, 0xe16)
	q := make([]float32, p*d) // p × d: one vector per row
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	orthonormalize(q, p, d)
	z := make([]float32, p*d)
	for range 120 {
		// z = q·C, that is (C·qᵀ)ᵀ since C is symmetric.
		vecmath.Sgemm(false, false, p, d, d, q, d, c, d, true, z, d)
		q, z = z, q
		orthonormalize(q, p, d)
	}
	// Rayleigh–Ritz: T = Q C Qᵀ (p × p).
	vecmath.Sgemm(false, false, p, d, d, q, d, c, d, true, z, d)
	t := mat.NewSymDense(p, nil)
	for a := range p {
		for b := a; b < p; b++ {
			t.SetSym(a, b, float64(vecmath.Dot(q[a*d:(a+1)*d], z[b*d:(b+1)*d])))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(t, true) {
		return nil, nil, errorf(nil, "PCA: eigendecomposition did not converge")
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	axes := make([]float32, r*d)
	out := make([]float64, r)
	for a := range min(r, p) {
		col := p - 1 - a
		out[a] = vals[col]
		ax := axes[a*d : (a+1)*d]
		for b := range p {
			vecmath.AddScaled(ax, float32(vecs.At(b, col)), q[b*d:(b+1)*d])
		}
		best, sign := float32(0), float32(1)
		for _, v := range ax {
			if abs32(v) > best {
				best = abs32(v)
				sign = 1
				if v < 0 {
					sign = -1
				}
			}
		}
		for i := range ax {
			ax[i] *= sign
		}
	}
	return axes, out, nil
}

// orthonormalize makes the p rows of the p × d matrix q orthonormal
// (modified Gram–Schmidt); a row that vanishes is replaced by a unit
// vector.
func orthonormalize(q []float32, p, d int) {
	for b := range p {
		row := q[b*d : (b+1)*d]
		for a := range b {
			prev := q[a*d : (a+1)*d]
			vecmath.AddScaled(row, -vecmath.Dot(prev, row), prev)
		}
		if vecmath.Normalize(row) < 1e-12 {
			clear(row)
			row[b%d] = 1
		}
	}
}

func abs32(x float32) float32 { return max(x, -x) }
