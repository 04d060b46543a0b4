package feedback

import (
	"context"
	"fmt"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Reranker learns from marked vectors which items are relevant and scores
// new ones. A [Session] fits one on every round's marks (the bucket's
// positive examples count as relevant, its negatives as not relevant) and
// ranks the pool by its scores.
//
// Score returns a decision value per vector, larger is more relevant: a
// positive value predicts relevant, a negative one not relevant, and values
// near 0 are the uncertain ones that [Session.Suggest] offers for marking.
// Score is called only after a successful Fit, with vectors of the fitted
// dimension, and must be safe for concurrent use; Fit need not be (a
// Session never calls Fit on a reranker that is in use).
//
// Fit must accept marks of one class only (all relevant or all not
// relevant) and still rank sensibly, and must return an error wrapping
// [ErrInvalidMarks] when there are no vectors at all, their lengths differ,
// or a value is NaN or ±Inf. It must not keep or modify the slices it is
// given, and should return ctx's error once ctx is done.
type Reranker interface {
	Fit(ctx context.Context, relevant, notRelevant [][]float32) error
	Score(vectors [][]float32) []float32
}

// LinearReranker is a [Reranker] whose score is linear in the vector:
// Score(x) = w·x + bias. A [Session] uses w as a store query to gather the
// items a linear reranker ranks highest from a pool too large to score in
// full. Both rerankers of this package implement it.
type LinearReranker interface {
	Reranker
	// Weights returns w and the bias of the fitted score. The slice must
	// not be modified by the caller.
	Weights() (w []float32, bias float32)
}

// checkMarks validates the vectors given to Fit and returns their common
// dimension.
func checkMarks(relevant, notRelevant [][]float32) (int, error) {
	if len(relevant)+len(notRelevant) == 0 {
		return 0, errorf(nil, "%w: no marked vectors", ErrInvalidMarks)
	}
	dim := -1
	for c, set := range [2][][]float32{relevant, notRelevant} {
		name := [2]string{"relevant", "not-relevant"}[c]
		for i, v := range set {
			if len(v) == 0 {
				return 0, errorf(nil, "%w: %s vector %d is empty", ErrInvalidMarks, name, i)
			}
			if dim < 0 {
				dim = len(v)
			}
			if len(v) != dim {
				return 0, errorf(nil, "%w: %s vector %d has %d dimensions, want %d", ErrInvalidMarks, name, i, len(v), dim)
			}
			if j := vecmath.Finite(v); j >= 0 {
				return 0, errorf(nil, "%w: %s vector %d has a NaN or infinite value at %d", ErrInvalidMarks, name, i, j)
			}
		}
	}
	return dim, nil
}

// mean returns the mean of vecs in float64.
func mean(vecs [][]float32, dim int) []float64 {
	m := make([]float64, dim)
	for _, v := range vecs {
		for j, x := range v {
			m[j] += float64(x)
		}
	}
	if len(vecs) > 0 {
		inv := 1 / float64(len(vecs))
		for j := range m {
			m[j] *= inv
		}
	}
	return m
}

// linearScores returns w·x + b for every vector.
func linearScores(w []float32, b float32, vectors [][]float32) []float32 {
	out := make([]float32, len(vectors))
	for i, v := range vectors {
		if len(v) != len(w) {
			panic(fmt.Sprintf("feedback: Score got a %d-dim vector, the reranker was fitted on %d-dim ones", len(v), len(w)))
		}
		out[i] = vecmath.Dot(w, v) + b
	}
	return out
}

// Rocchio is the classic relevance-feedback baseline, in its
// nearest-centroid form: it scores a vector by how much closer it lies to
// the centroid μr of the relevant vectors than to the centroid μn of the
// not-relevant ones,
//
//	Score(x) = (‖x − μn‖² − ‖x − μr‖²) / 2 = (μr − μn)·x − (‖μr‖² − ‖μn‖²)/2,
//
// which is linear in x, so it is a [LinearReranker]. With relevant marks
// only it scores by μr·x (the search package's Mean query), with
// not-relevant marks only by −μn·x. It has no parameter and fits in one
// pass; it is the baseline [Logistic] is compared with. The zero value is
// ready to use. Fit is not safe for concurrent use; Score is, after Fit.
type Rocchio struct {
	w []float32
	b float32
}

// Fit computes the centroids. See [Reranker] for the errors.
func (r *Rocchio) Fit(ctx context.Context, relevant, notRelevant [][]float32) error {
	if ctx == nil {
		return errorf(index.ErrInvalidArgument, "Rocchio.Fit: nil context")
	}
	dim, err := checkMarks(relevant, notRelevant)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	mr, mn := mean(relevant, dim), mean(notRelevant, dim)
	w := make([]float32, dim)
	var b float64
	switch {
	case len(notRelevant) == 0:
		for j := range w {
			w[j] = float32(mr[j])
		}
	case len(relevant) == 0:
		for j := range w {
			w[j] = float32(-mn[j])
		}
	default:
		var nr, nn float64
		for j := range w {
			w[j] = float32(mr[j] - mn[j])
			nr += mr[j] * mr[j]
			nn += mn[j] * mn[j]
		}
		b = -(nr - nn) / 2
	}
	r.w, r.b = w, float32(b)
	return nil
}

// Score returns the decision values (see [Rocchio]). It panics if called
// before a successful Fit or with a vector of another dimension.
func (r *Rocchio) Score(vectors [][]float32) []float32 {
	if r.w == nil {
		panic("feedback: Rocchio.Score called before Fit")
	}
	return linearScores(r.w, r.b, vectors)
}

// Weights returns μr − μn and the bias of the fitted score.
func (r *Rocchio) Weights() ([]float32, float32) { return r.w, r.b }
