package feedback

import (
	"context"
	"math"
	"slices"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// DefaultNeighbors is the number of nearest training vectors of each class
// that [Hybrid] averages (see its Neighbors field).
const DefaultNeighbors = 3

// hybridSpreadSample bounds the training vectors on which [Hybrid]
// estimates the spreads of its two terms.
const hybridSpreadSample = 64

// Hybrid is a [Reranker] that is not linear, meant for rare targets: the
// logit of a [Logistic] plus a nearest-neighbour margin,
//
//	Score(x) = (w·x + b)/σ₁ + (s₊(x) − s₋(x))/σ₂,
//
// where s₊(x) is the mean dot product of x with its Neighbors nearest
// relevant training vectors and s₋(x) the same over the not-relevant ones
// (under Cosine the session gives unit vectors, so these are cosine
// similarities), and σ₁, σ₂ are the standard deviations of the two terms
// over the training vectors, so that neither dominates by its scale. The
// margin follows the marks locally: an item that looks like a marked
// positive rises even where the linear boundary is wrong, and one that
// looks like a marked negative falls, which a linear score cannot do when
// the target is a small island among similar items (Fashion-MNIST's Coat
// among Pullovers and Shirts).
//
// Scoring costs O(n·d) per vector for n training vectors (one matrix
// product), against O(d) for Logistic: a session over a pool larger than
// [WithScanThreshold] scores only the gathered candidates, the items the
// logistic part and the bucket similarity rank highest (see
// [WithCandidates]). Hybrid is not a [LinearReranker].
//
// The zero value is ready to use with the defaults. Fit is not safe for
// concurrent use; Score is, after Fit.
type Hybrid struct {
	// Logistic is the linear part; its zero value has the defaults.
	Logistic Logistic
	// Neighbors is how many nearest training vectors of each class the
	// margin averages; 0 means DefaultNeighbors, a negative value makes
	// Fit fail with ErrInvalidOption.
	Neighbors int

	pos, neg        []float32 // row-major training vectors of each class
	dim, k          int
	linSD, marginSD float64
}

// Fit fits the logistic part and keeps the training vectors for the
// margin. See [Reranker] for the errors.
func (h *Hybrid) Fit(ctx context.Context, relevant, notRelevant [][]float32) error {
	if ctx == nil {
		return errorf(index.ErrInvalidArgument, "Hybrid.Fit: nil context")
	}
	k := h.Neighbors
	switch {
	case k == 0:
		k = DefaultNeighbors
	case k < 0:
		return errorf(ErrInvalidOption, "Hybrid.Neighbors: %d < 0", k)
	}
	if err := h.Logistic.Fit(ctx, relevant, notRelevant); err != nil {
		return err
	}
	dim := len(h.Logistic.w)
	h.dim, h.k = dim, k
	h.pos, h.neg = slices.Concat(relevant...), slices.Concat(notRelevant...)
	// The spreads are estimated on at most hybridSpreadSample training
	// vectors, evenly strided (the margin costs O(n·d) per vector).
	all := slices.Concat(relevant, notRelevant)
	if step := (len(all) + hybridSpreadSample - 1) / hybridSpreadSample; step > 1 {
		var some [][]float32
		for i := 0; i < len(all); i += step {
			some = append(some, all[i])
		}
		all = some
	}
	lin := linearScores(h.Logistic.w, h.Logistic.b, all)
	margin := h.margins(all)
	h.linSD, h.marginSD = stdDev(lin), stdDev(margin)
	return nil
}

// Score returns the decision values (see [Hybrid]). It panics if called
// before a successful Fit or with a vector of another dimension.
func (h *Hybrid) Score(vectors [][]float32) []float32 {
	if h.Logistic.w == nil {
		panic("feedback: Hybrid.Score called before Fit")
	}
	lin := linearScores(h.Logistic.w, h.Logistic.b, vectors)
	margin := h.margins(vectors)
	for i := range lin {
		lin[i] = float32(float64(lin[i])/h.linSD + float64(margin[i])/h.marginSD)
	}
	return lin
}

// margins returns s₊(x) − s₋(x) for every vector (s₊ alone with no
// not-relevant vectors, −s₋ alone with no relevant ones).
func (h *Hybrid) margins(vectors [][]float32) []float32 {
	out := make([]float32, len(vectors))
	if len(vectors) == 0 {
		return out
	}
	x := slices.Concat(vectors...)
	for c, slab := range [2][]float32{h.pos, h.neg} {
		n := len(slab) / h.dim
		if n == 0 {
			continue
		}
		sims := make([]float32, len(vectors)*n)
		vecmath.Sgemm(false, true, len(vectors), n, h.dim, x, h.dim, slab, h.dim, true, sims, n)
		k := min(h.k, n)
		top := make([]float32, k)
		for i := range vectors {
			s := topMean(sims[i*n:(i+1)*n], top)
			if c == 1 {
				s = -s
			}
			out[i] += s
		}
	}
	return out
}

// topMean returns the mean of the len(top) largest values of row, using
// top as scratch.
func topMean(row, top []float32) float32 {
	k := len(top)
	for j := range top {
		top[j] = float32(math.Inf(-1))
	}
	for _, v := range row {
		if v <= top[k-1] {
			continue
		}
		j := k - 1
		for j > 0 && top[j-1] < v {
			top[j] = top[j-1]
			j--
		}
		top[j] = v
	}
	var s float32
	for _, v := range top {
		s += v
	}
	return s / float32(k)
}

// stdDev returns the standard deviation of xs, or 1 when it is 0 or not
// finite (so that dividing by it is harmless).
func stdDev(xs []float32) float64 {
	var m, m2 float64
	for _, x := range xs {
		m += float64(x)
	}
	m /= float64(len(xs))
	for _, x := range xs {
		d := float64(x) - m
		m2 += d * d
	}
	sd := math.Sqrt(m2 / float64(len(xs)))
	if !(sd > 1e-12) || math.IsInf(sd, 0) {
		return 1
	}
	return sd
}
