package finetune

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// pcaSample is the most rows the principal components are computed from.
const pcaSample = 10_000

// pcaIterations is the number of subspace iterations of fitPCA.
const pcaIterations = 8

// fitPCA returns a p × d projection onto the first p principal components
// of the n rows of x (row length d) centred on mean, scaled by 1/√variance
// of each component (whiten) or by one common factor that gives the
// components unit variance on average.
//
// The covariance is estimated from at most pcaSample evenly spaced rows. The
// components come from a full symmetric eigendecomposition for small d and
// from a seeded block subspace iteration with Rayleigh–Ritz extraction
// otherwise, which is several times faster for p ≪ d.
func fitPCA(ctx context.Context, x []float32, n, d int, mean []float32, p int, whiten bool, rng *rand.Rand) (proj []float32, err error) {
	if p > d {
		return nil, fmt.Errorf("%w: input PCA of %d components on %d-dimensional base embeddings", ErrInvalidOption, p, d)
	}
	m := min(n, pcaSample)
	xc := make([]float32, m*d)
	for i := range m {
		r := int(int64(i) * int64(n) / int64(m))
		row := xc[i*d : (i+1)*d]
		for j, v := range x[r*d : (r+1)*d] {
			row[j] = v - mean[j]
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cov32 := make([]float32, d*d)
	gemm(true, false, d, d, m, 1/float32(max(m-1, 1)), xc, xc, 0, cov32)
	cov := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			cov.SetSym(i, j, float64(cov32[i*d+j]+cov32[j*d+i])/2)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	vals, vecs, err := topEigen(cov, p, rng)
	if err != nil {
		return nil, err
	}
	total := 0.0
	for _, v := range vals {
		total += max(v, 0)
	}
	common := 1 / math.Sqrt(max(total/float64(p), 1e-30))
	eps := 1e-5 * max(vals[0], 1e-30)
	proj = make([]float32, p*d)
	for c := range p {
		scale := common
		if whiten {
			scale = 1 / math.Sqrt(max(vals[c], 0)+eps)
		}
		for j := range d {
			proj[c*d+j] = float32(vecs.At(j, c) * scale)
		}
	}
	return proj, nil
}

// topEigen returns the p largest eigenvalues of the symmetric matrix a,
// in decreasing order, and the matching unit eigenvectors as the columns of
// a d × p matrix.
func topEigen(a *mat.SymDense, p int, rng *rand.Rand) ([]float64, *mat.Dense, error) {
	d := a.SymmetricDim()
	block := min(d, p+max(16, p/4))
	if 2*block >= d {
		var eig mat.EigenSym
		if !eig.Factorize(a, true) {
			return nil, nil, fmt.Errorf("finetune: input PCA: eigendecomposition failed")
		}
		var v mat.Dense
		eig.VectorsTo(&v)
		return descending(eig.Values(nil), &v, p)
	}
	// Block subspace iteration on the rows of qt (the transposed basis):
	// qt ← orth(qt·a), which is orth(a·q)ᵀ as a is symmetric.
	raw := make([]float64, block*d)
	for i := range raw {
		raw[i] = rng.NormFloat64()
	}
	orthonormalizeRows(raw, block, d)
	qt := mat.NewDense(block, d, raw)
	var y mat.Dense
	for range pcaIterations {
		y.Mul(qt, a)
		copy(raw, y.RawMatrix().Data)
		orthonormalizeRows(raw, block, d)
	}
	// Rayleigh–Ritz: eigenpairs of qᵀ·a·q, rotated back.
	y.Mul(qt, a)
	var tq mat.Dense
	tq.Mul(&y, qt.T())
	t := mat.NewSymDense(block, nil)
	for i := range block {
		for j := i; j < block; j++ {
			t.SetSym(i, j, (tq.At(i, j)+tq.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(t, true) {
		return nil, nil, fmt.Errorf("finetune: input PCA: eigendecomposition failed")
	}
	var w mat.Dense
	eig.VectorsTo(&w)
	var v mat.Dense
	v.Mul(qt.T(), &w)
	return descending(eig.Values(nil), &v, p)
}

// orthonormalizeRows makes the rows (of length d) of the row-major matrix x
// orthonormal by modified Gram–Schmidt, applied twice for accuracy. A row
// that lies in the span of the previous ones becomes zero.
func orthonormalizeRows(x []float64, rows, d int) {
	for range 2 {
		for i := range rows {
			ri := x[i*d : (i+1)*d]
			for j := range i {
				rj := x[j*d : (j+1)*d]
				dot := 0.0
				for k, v := range ri {
					dot += v * rj[k]
				}
				for k := range ri {
					ri[k] -= dot * rj[k]
				}
			}
			norm := 0.0
			for _, v := range ri {
				norm += v * v
			}
			norm = math.Sqrt(norm)
			if norm < 1e-12 {
				clear(ri)
				continue
			}
			for k := range ri {
				ri[k] /= norm
			}
		}
	}
}

// descending returns the p largest of vals (ascending, as gonum gives
// them) in decreasing order, with the matching columns of vecs.
func descending(vals []float64, vecs *mat.Dense, p int) ([]float64, *mat.Dense, error) {
	rows, cols := vecs.Dims()
	order := make([]int, cols)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		switch {
		case vals[i] > vals[j]:
			return -1
		case vals[i] < vals[j]:
			return 1
		}
		return 0
	})
	out := mat.NewDense(rows, p, nil)
	top := make([]float64, p)
	for c := range p {
		top[c] = vals[order[c]]
		for r := range rows {
			out.Set(r, c, vecs.At(r, order[c]))
		}
	}
	if math.IsNaN(top[0]) {
		return nil, nil, fmt.Errorf("finetune: input PCA: eigenvalues are NaN")
	}
	return top, out, nil
}
