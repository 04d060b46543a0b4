package feedback

import (
	"context"
	"math"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Defaults of [Logistic].
const (
	// DefaultL2 is the regularisation strength λ of [Logistic] (see its
	// L2 field for the scale).
	DefaultL2 = 0.0003
	// DefaultMaxIterations bounds the Newton iterations of one Fit.
	DefaultMaxIterations = 50
)

// Logistic is the default [Reranker]: L2-regularised, class-balanced
// logistic regression on the vectors. It minimises
//
//	Σᵢ cᵢ·log(1 + exp(−yᵢ(w·xᵢ + b))) + (λ·s²/2)·‖w‖²
//
// over w and the (unregularised) bias b, where yᵢ = ±1 is the mark, the
// weights cᵢ give each class half of the total (1/(2·n₊) for a relevant
// vector, 1/(2·n₋) for a not-relevant one; 1/n each with Unbalanced), and
// s² is the weighted mean squared distance of the vectors to their mean,
// which makes λ independent of the scale of the embedding. Score returns
// the logit w·x + b, so 0 is the decision boundary (probability ½).
//
// The solver is a truncated Newton method, as in LIBLINEAR: each Newton
// step solves H·s = −g by conjugate gradients preconditioned with H's
// diagonal, then backtracks along s (Armijo). Why: a Hessian-vector product
// costs two passes over the n×d marks, no more than a gradient, and no d×d
// matrix is ever formed (an explicit Newton step would factor one: d³ ≈
// 5·10⁸ for d = 784); the diagonal preconditioner copes with the badly
// scaled features of embeddings such as near-constant border pixels; and
// Newton's fast local convergence gives precise fits in 4–8 steps, which
// matters because the Session's guard compares cross-validated fits. It
// needs no dependency. A fit of 100 marks of 256 dimensions takes about a
// millisecond, 300 of 784 about 6 ms (BenchmarkLogisticFit).
//
// With marks of one class only the problem has no finite minimum (the bias
// runs off to infinity); Fit then scores by the centroid of that class,
// as [Rocchio] does: μ₊·x with relevant marks only, −μ₋·x with
// not-relevant ones only.
//
// The zero value is ready to use with the defaults. Fit is not safe for
// concurrent use; Score is, after Fit.
type Logistic struct {
	// L2 is λ, the regularisation strength relative to the spread of the
	// marked vectors: larger keeps w small and the ranking close to the
	// centroids', smaller fits the marks more closely. 0 means DefaultL2;
	// a negative value makes Fit fail with ErrInvalidOption.
	L2 float64
	// Unbalanced, when true, weighs every mark the same instead of giving
	// each class half of the total weight.
	Unbalanced bool
	// MaxIterations bounds the Newton iterations; 0 means
	// DefaultMaxIterations.
	MaxIterations int

	w     []float32
	b     float32
	iters int
}

// Fit fits the model to the marks. See [Reranker] for the errors; a bad
// field of l is an [ErrInvalidOption] error.
func (l *Logistic) Fit(ctx context.Context, relevant, notRelevant [][]float32) error {
	if ctx == nil {
		return errorf(index.ErrInvalidArgument, "Logistic.Fit: nil context")
	}
	lam := l.L2
	switch {
	case lam == 0:
		lam = DefaultL2
	case lam < 0 || math.IsNaN(lam) || math.IsInf(lam, 0):
		return errorf(ErrInvalidOption, "Logistic.L2: %v is not a finite number ≥ 0", l.L2)
	}
	maxIter := l.MaxIterations
	switch {
	case maxIter == 0:
		maxIter = DefaultMaxIterations
	case maxIter < 0:
		return errorf(ErrInvalidOption, "Logistic.MaxIterations: %d < 0", maxIter)
	}
	dim, err := checkMarks(relevant, notRelevant)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(relevant) == 0 || len(notRelevant) == 0 {
		var c Rocchio
		if err := c.Fit(ctx, relevant, notRelevant); err != nil {
			return err
		}
		l.w, l.b, l.iters = c.w, 0, 0
		return nil
	}
	p := newLogisticProblem(relevant, notRelevant, dim, lam, !l.Unbalanced)
	w, b, iters, err := p.solve(ctx, maxIter)
	if err != nil {
		return err
	}
	l.w, l.b, l.iters = w, b, iters
	return nil
}

// Score returns the logits w·x + b. It panics if called before a
// successful Fit or with a vector of another dimension.
func (l *Logistic) Score(vectors [][]float32) []float32 {
	if l.w == nil {
		panic("feedback: Logistic.Score called before Fit")
	}
	return linearScores(l.w, l.b, vectors)
}

// Weights returns w and b of the fitted logit w·x + b.
func (l *Logistic) Weights() ([]float32, float32) { return l.w, l.b }

// Iterations returns the number of Newton iterations the last Fit took (0
// for a fit on one class).
func (l *Logistic) Iterations() int { return l.iters }

// logisticProblem is one fit: the centred marks as a row-major n×d slab,
// their signs and weights, and scratch space.
type logisticProblem struct {
	x    []float32 // n×d, centred on the weighted mean mu
	mu   []float64
	n, d int
	y    []float64 // ±1
	c    []float64 // weights, summing to 1
	lam  float64   // λ·s²

	z   []float32 // n: logits
	u   []float32 // n: scratch
	wf  []float32 // d: float32 copy of a direction
	acc []float32 // d: Xᵀ accumulator
	dg  []float64 // n: Hessian diagonal
}

func newLogisticProblem(relevant, notRelevant [][]float32, dim int, lam float64, balanced bool) *logisticProblem {
	n := len(relevant) + len(notRelevant)
	p := &logisticProblem{
		x: make([]float32, n*dim), mu: make([]float64, dim), n: n, d: dim,
		y: make([]float64, n), c: make([]float64, n),
		z: make([]float32, n), u: make([]float32, n), wf: make([]float32, dim),
		acc: make([]float32, dim), dg: make([]float64, n),
	}
	cPos, cNeg := 1/float64(n), 1/float64(n)
	if balanced {
		cPos, cNeg = 0.5/float64(len(relevant)), 0.5/float64(len(notRelevant))
	}
	i := 0
	for c, set := range [2][][]float32{relevant, notRelevant} {
		for _, v := range set {
			copy(p.x[i*dim:], v)
			p.y[i], p.c[i] = 1, cPos
			if c == 1 {
				p.y[i], p.c[i] = -1, cNeg
			}
			for j, x := range v {
				p.mu[j] += p.c[i] * float64(x)
			}
			i++
		}
	}
	var s2 float64
	for i := range n {
		row := p.x[i*dim : (i+1)*dim]
		var sq float64
		for j := range row {
			v := float64(row[j]) - p.mu[j]
			row[j] = float32(v)
			sq += v * v
		}
		s2 += p.c[i] * sq
	}
	if s2 < 1e-12 {
		s2 = 1 // every mark is the same vector
	}
	p.lam = lam * s2
	return p
}

// logits sets p.z to X·w + b.
func (p *logisticProblem) logits(w []float64, b float64) {
	for j, v := range w {
		p.wf[j] = float32(v)
	}
	vecmath.DotRows(p.wf, p.x, p.z)
	for i := range p.z {
		p.z[i] += float32(b)
	}
}

// objective returns the loss at the logits in p.z and w.
func (p *logisticProblem) objective(w []float64) float64 {
	var f float64
	for i, z := range p.z {
		f += p.c[i] * softplus(-p.y[i]*float64(z))
	}
	return f + p.lam/2*dot64(w, w)
}

// gradient sets g (length d+1, the bias last) to the gradient at the
// logits in p.z and w, and p.dg to the Hessian's diagonal weights.
func (p *logisticProblem) gradient(w, g []float64) {
	clear(p.acc)
	var gb float64
	for i, z := range p.z {
		s := sigmoid(float64(z))
		t := (p.y[i] + 1) / 2
		r := p.c[i] * (s - t)
		p.dg[i] = p.c[i] * s * (1 - s)
		gb += r
		p.u[i] = float32(r)
	}
	vecmath.AddScaledRows(p.acc, p.u, p.x)
	for j := range p.d {
		g[j] = float64(p.acc[j]) + p.lam*w[j]
	}
	g[p.d] = gb
}

// hessVec sets hv to the Hessian (at the point of the last gradient call)
// times v; both have length d+1.
func (p *logisticProblem) hessVec(v, hv []float64) {
	for j := range p.d {
		p.wf[j] = float32(v[j])
	}
	vecmath.DotRows(p.wf, p.x, p.u)
	clear(p.acc)
	var hb float64
	for i := range p.u {
		r := p.dg[i] * (float64(p.u[i]) + v[p.d])
		hb += r
		p.u[i] = float32(r)
	}
	vecmath.AddScaledRows(p.acc, p.u, p.x)
	for j := range p.d {
		hv[j] = float64(p.acc[j]) + p.lam*v[j]
	}
	hv[p.d] = hb + 1e-10*v[p.d]
}

// hessDiag sets diag to the diagonal of the Hessian at the point of the
// last gradient call (length d+1).
func (p *logisticProblem) hessDiag(diag []float64) {
	clear(p.acc)
	var hb float64
	for i, w := range p.dg {
		p.u[i] = float32(w)
		hb += w
	}
	vecmath.AddScaledSquaredRows(p.acc, p.u, p.x)
	for j := range p.d {
		diag[j] = float64(p.acc[j]) + p.lam
	}
	diag[p.d] = hb + 1e-10
}

// solve runs the truncated Newton method and returns w and b in the
// original (uncentred) coordinates.
func (p *logisticProblem) solve(ctx context.Context, maxIter int) ([]float32, float32, int, error) {
	d1 := p.d + 1
	theta := make([]float64, d1) // w, then the bias
	g := make([]float64, d1)
	step := make([]float64, d1)
	r := make([]float64, d1)
	dir := make([]float64, d1)
	hd := make([]float64, d1)
	trial := make([]float64, d1)
	prec := make([]float64, d1)
	zr := make([]float64, d1)
	maxCG := min(d1, 100)

	p.logits(theta[:p.d], theta[p.d])
	f := p.objective(theta[:p.d])
	p.gradient(theta[:p.d], g)
	g0 := math.Sqrt(dot64(g, g))
	iters := 0
	for ; iters < maxIter; iters++ {
		gn := math.Sqrt(dot64(g, g))
		if gn <= 1e-4*g0 || gn < 1e-12 {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, iters, err
		}
		// Preconditioned conjugate gradient on H·step = −g, to a relative
		// residual of min(0.5, √‖g‖) (a forcing term that gives
		// superlinear convergence). The preconditioner is H's diagonal
		// (Jacobi), which evens out features of very different spread,
		// such as the near-constant border pixels of an image embedding.
		p.hessDiag(prec)
		clear(step)
		for j := range r {
			r[j] = -g[j]
			zr[j] = r[j] / prec[j]
		}
		copy(dir, zr)
		rz := dot64(r, zr)
		tol := min(0.5, math.Sqrt(gn)) * gn
		for range maxCG {
			p.hessVec(dir, hd)
			dHd := dot64(dir, hd)
			if dHd <= 0 {
				break
			}
			alpha := rz / dHd
			for j := range step {
				step[j] += alpha * dir[j]
				r[j] -= alpha * hd[j]
			}
			if math.Sqrt(dot64(r, r)) <= tol {
				break
			}
			for j := range zr {
				zr[j] = r[j] / prec[j]
			}
			rzNew := dot64(r, zr)
			beta := rzNew / rz
			rz = rzNew
			for j := range dir {
				dir[j] = zr[j] + beta*dir[j]
			}
		}
		gs := dot64(g, step)
		if gs >= 0 { // not a descent direction (numerical trouble): steepest descent
			for j := range step {
				step[j] = -g[j]
			}
			gs = -dot64(g, g)
		}
		// Backtracking line search (Armijo).
		t, accepted := 1.0, false
		for range 30 {
			for j := range trial {
				trial[j] = theta[j] + t*step[j]
			}
			p.logits(trial[:p.d], trial[p.d])
			ft := p.objective(trial[:p.d])
			if ft <= f+1e-4*t*gs {
				copy(theta, trial)
				f, accepted = ft, true
				break
			}
			t /= 2
		}
		if !accepted {
			p.logits(theta[:p.d], theta[p.d]) // restore the logits of theta
			break
		}
		p.gradient(theta[:p.d], g)
	}
	w := make([]float32, p.d)
	b := theta[p.d]
	for j := range w {
		w[j] = float32(theta[j])
		b -= theta[j] * p.mu[j]
	}
	return w, float32(b), iters, nil
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// softplus returns log(1 + eᵗ) without overflow.
func softplus(t float64) float64 {
	if t > 0 {
		return t + math.Log1p(math.Exp(-t))
	}
	return math.Log1p(math.Exp(t))
}

// sigmoid returns 1/(1 + e⁻ᵗ) without overflow.
func sigmoid(t float64) float64 {
	if t >= 0 {
		return 1 / (1 + math.Exp(-t))
	}
	e := math.Exp(t)
	return e / (1 + e)
}
