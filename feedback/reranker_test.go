package feedback_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
)

// blobs draws n vectors around center with per-dimension spread sd.
func blobs(r *rand.Rand, n int, center []float64, sd float64) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, len(center))
		for j, c := range center {
			v[j] = float32(c + r.NormFloat64()*sd)
		}
		out[i] = v
	}
	return out
}

func TestLogisticOptimality(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		nPos, nNeg int
		l2         float64
		unbalanced bool
	}{
		{"balanced", 20, 60, 0, false},
		{"unbalanced", 20, 60, 0, true},
		{"strong L2", 5, 40, 1, false},
		{"weak L2 overlapping", 40, 40, 1e-4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, 2))
			const d = 12
			cPos, cNeg := make([]float64, d), make([]float64, d)
			cPos[0], cNeg[0] = 0.6, -0.2
			rel, nrel := blobs(r, tt.nPos, cPos, 0.5), blobs(r, tt.nNeg, cNeg, 0.5)
			lr := &feedback.Logistic{L2: tt.l2, Unbalanced: tt.unbalanced}
			require.NoError(t, lr.Fit(context.Background(), rel, nrel))
			w, b := lr.Weights()
			require.Len(t, w, d)

			// The gradient of the documented objective must vanish.
			lam := tt.l2
			if lam == 0 {
				lam = feedback.DefaultL2
			}
			type ex struct {
				x []float32
				t float64
				c float64
			}
			var exs []ex
			for _, v := range rel {
				c := 0.5 / float64(len(rel))
				if tt.unbalanced {
					c = 1 / float64(len(rel)+len(nrel))
				}
				exs = append(exs, ex{v, 1, c})
			}
			for _, v := range nrel {
				c := 0.5 / float64(len(nrel))
				if tt.unbalanced {
					c = 1 / float64(len(rel)+len(nrel))
				}
				exs = append(exs, ex{v, 0, c})
			}
			mu := make([]float64, d)
			for _, e := range exs {
				for j, x := range e.x {
					mu[j] += e.c * float64(x)
				}
			}
			var s2 float64
			for _, e := range exs {
				for j, x := range e.x {
					s2 += e.c * (float64(x) - mu[j]) * (float64(x) - mu[j])
				}
			}
			grad := make([]float64, d+1)
			for _, e := range exs {
				z := float64(b)
				for j, x := range e.x {
					z += float64(w[j]) * float64(x)
				}
				g := e.c * (1/(1+math.Exp(-z)) - e.t)
				for j, x := range e.x {
					grad[j] += g * float64(x)
				}
				grad[d] += g
			}
			var gn, wn float64
			for j := range d {
				grad[j] += lam * s2 * float64(w[j])
				gn += grad[j] * grad[j]
				wn += float64(w[j]) * float64(w[j])
			}
			gn += grad[d] * grad[d]
			assert.Less(t, math.Sqrt(gn), 1e-4, "gradient at the fitted weights")
			assert.Greater(t, math.Sqrt(wn), 0.0)
			assert.Positive(t, lr.Iterations())
		})
	}
}

func TestLogisticSeparatesAndGeneralises(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	cPos, cNeg := []float64{1, 0, 0, 0, 0, 0}, []float64{-1, 0, 0, 0, 0, 0}
	lr := &feedback.Logistic{}
	require.NoError(t, lr.Fit(context.Background(), blobs(r, 30, cPos, 0.4), blobs(r, 30, cNeg, 0.4)))
	right := 0
	for _, s := range lr.Score(blobs(r, 100, cPos, 0.4)) {
		if s > 0 {
			right++
		}
	}
	for _, s := range lr.Score(blobs(r, 100, cNeg, 0.4)) {
		if s < 0 {
			right++
		}
	}
	assert.GreaterOrEqual(t, right, 195, "held-out accuracy out of 200")
}

func TestLogisticClassBalance(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	cPos, cNeg := []float64{0.5, 0, 0}, []float64{-0.5, 0, 0}
	rel, nrel := blobs(r, 10, cPos, 0.7), blobs(r, 300, cNeg, 0.7)
	recall := func(unbalanced bool) int {
		lr := &feedback.Logistic{Unbalanced: unbalanced}
		require.NoError(t, lr.Fit(context.Background(), rel, nrel))
		n := 0
		for _, s := range lr.Score(rel) {
			if s > 0 {
				n++
			}
		}
		return n
	}
	balanced, unbalanced := recall(false), recall(true)
	assert.GreaterOrEqual(t, balanced, 7, "balanced weights keep the rare class")
	assert.Less(t, unbalanced, balanced, "equal weights let the 300 negatives drown the 10 positives")
}

// TestRerankersOneClass checks that marks of one class still rank: near
// the relevant centroid first, or away from the not-relevant one.
func TestRerankersOneClass(t *testing.T) {
	t.Parallel()
	near := []float32{1, 0.1, 0}
	far := []float32{-1, 0.2, 0.1}
	for _, name := range []string{"logistic", "rocchio", "hybrid"} {
		for _, onlyRelevant := range []bool{true, false} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var rr feedback.Reranker = &feedback.Logistic{}
				switch name {
				case "rocchio":
					rr = &feedback.Rocchio{}
				case "hybrid":
					rr = &feedback.Hybrid{}
				}
				marks := [][]float32{{1, 0, 0}, {0.9, 0.1, 0}, {1, -0.1, 0.1}}
				if onlyRelevant {
					require.NoError(t, rr.Fit(context.Background(), marks, nil))
				} else {
					for _, m := range marks {
						m[0] = -m[0]
					}
					require.NoError(t, rr.Fit(context.Background(), nil, marks))
				}
				s := rr.Score([][]float32{near, far})
				if onlyRelevant {
					assert.Greater(t, s[0], s[1])
				} else {
					assert.Greater(t, s[0], s[1], "far from the not-relevant marks ranks first")
				}
			})
		}
	}
}

func TestRerankerInvalidMarks(t *testing.T) {
	t.Parallel()
	nan := float32(math.NaN())
	tests := []struct {
		name      string
		rel, nrel [][]float32
	}{
		{"none", nil, nil},
		{"empty vector", [][]float32{{}}, nil},
		{"lengths differ", [][]float32{{1, 2}}, [][]float32{{1, 2, 3}}},
		{"NaN", [][]float32{{1, nan}}, [][]float32{{1, 0}}},
		{"Inf", [][]float32{{1, 0}}, [][]float32{{float32(math.Inf(1)), 0}}},
	}
	for _, tt := range tests {
		for _, rr := range []feedback.Reranker{&feedback.Logistic{}, &feedback.Rocchio{}, &feedback.Hybrid{}} {
			err := rr.Fit(context.Background(), tt.rel, tt.nrel)
			assert.ErrorIs(t, err, feedback.ErrInvalidMarks, tt.name)
			assert.ErrorIs(t, err, index.ErrInvalidArgument, tt.name)
		}
	}
}

func TestLogisticInvalidFields(t *testing.T) {
	t.Parallel()
	marks := [][]float32{{1, 0}}
	for _, lr := range []*feedback.Logistic{{L2: -1}, {L2: math.NaN()}, {L2: math.Inf(1)}, {MaxIterations: -1}} {
		err := lr.Fit(context.Background(), marks, marks)
		assert.ErrorIs(t, err, feedback.ErrInvalidOption, "%+v", *lr)
	}
}

func TestRerankerCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, rr := range []feedback.Reranker{&feedback.Logistic{}, &feedback.Rocchio{}, &feedback.Hybrid{}} {
		assert.ErrorIs(t, rr.Fit(ctx, [][]float32{{1, 0}}, [][]float32{{0, 1}}), context.Canceled)
	}
}

func TestScoreBeforeFitPanics(t *testing.T) {
	t.Parallel()
	assert.Panics(t, func() { (&feedback.Logistic{}).Score([][]float32{{1}}) })
	assert.Panics(t, func() { (&feedback.Rocchio{}).Score([][]float32{{1}}) })
	assert.Panics(t, func() { (&feedback.Hybrid{}).Score([][]float32{{1}}) })
	lr := &feedback.Logistic{}
	require.NoError(t, lr.Fit(context.Background(), [][]float32{{1, 0}}, [][]float32{{0, 1}}))
	assert.Panics(t, func() { lr.Score([][]float32{{1, 0, 0}}) }, "a vector of another dimension")
}

// TestLogisticBeatsRocchio compares the two rerankers where a nuisance
// shared by both classes dominates the distances: logistic regression finds
// the discriminative direction, the nearest centroid does not.
func TestLogisticBeatsRocchio(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	// x = (a + s, a, noise): a is a nuisance of spread 3 shared by both
	// coordinates, s = ±0.5 the class signal. The centroids differ along
	// x0 only, where a swamps s; x0 − x1 = s separates the classes.
	draw := func(n int, relevant bool) [][]float32 {
		shift := map[bool]float64{true: 0.5, false: -0.5}[relevant]
		out := make([][]float32, n)
		for i := range out {
			a := r.NormFloat64() * 3
			s := shift + r.NormFloat64()*0.2
			out[i] = []float32{float32(a + s), float32(a), float32(r.NormFloat64())}
		}
		return out
	}
	relTrain, nrelTrain := draw(30, true), draw(30, false)
	relTest, nrelTest := draw(300, true), draw(300, false)
	aucOf := func(rr feedback.Reranker) float64 {
		require.NoError(t, rr.Fit(context.Background(), relTrain, nrelTrain))
		sp, sn := rr.Score(relTest), rr.Score(nrelTest)
		wins := 0.0
		for _, a := range sp {
			for _, b := range sn {
				switch {
				case a > b:
					wins++
				case a == b:
					wins += 0.5
				}
			}
		}
		return wins / float64(len(sp)*len(sn))
	}
	lAUC, rAUC := aucOf(&feedback.Logistic{}), aucOf(&feedback.Rocchio{})
	t.Logf("held-out AUC: logistic %.3f, rocchio %.3f", lAUC, rAUC)
	assert.Greater(t, lAUC, 0.97)
	assert.Greater(t, lAUC, rAUC+0.1)
}

func TestHybridInvalidFields(t *testing.T) {
	t.Parallel()
	marks := [][]float32{{1, 0}}
	for _, h := range []*feedback.Hybrid{{Neighbors: -1}, {Logistic: feedback.Logistic{L2: -1}}} {
		err := h.Fit(context.Background(), marks, marks)
		assert.ErrorIs(t, err, feedback.ErrInvalidOption, "%+v", h)
	}
}

// TestHybridFindsTwoIslands: the relevant items are two small islands on
// opposite sides (±3·e0) of a crowd of not-relevant ones. No linear score
// ranks both islands above the crowd; Hybrid's nearest-neighbour margin
// does, on held-out items.
func TestHybridFindsTwoIslands(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	const d = 8
	left, right, crowd := make([]float64, d), make([]float64, d), make([]float64, d)
	left[0], right[0] = -3, 3
	aucOf := func(rr feedback.Reranker) float64 {
		rel := append(blobs(r, 6, left, 0.4), blobs(r, 6, right, 0.4)...)
		nrel := blobs(r, 80, crowd, 1)
		require.NoError(t, rr.Fit(context.Background(), rel, nrel))
		testRel := append(blobs(r, 50, left, 0.4), blobs(r, 50, right, 0.4)...)
		testNeg := blobs(r, 400, crowd, 1)
		return aucScores(rr.Score(testRel), rr.Score(testNeg))
	}
	lin, hyb := aucOf(&feedback.Logistic{}), aucOf(&feedback.Hybrid{})
	t.Logf("held-out AUC: logistic %.3f, hybrid %.3f", lin, hyb)
	assert.Less(t, lin, 0.6, "no linear score separates the islands")
	assert.Greater(t, hyb, 0.85)
	assert.Greater(t, hyb, lin+0.25)
}

// aucScores returns the chance that a positive outscores a negative.
func aucScores(pos, neg []float32) float64 {
	var wins float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				wins++
			case p == n:
				wins += 0.5
			}
		}
	}
	return wins / float64(len(pos)*len(neg))
}
