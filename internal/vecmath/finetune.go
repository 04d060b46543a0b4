package vecmath

import "math"

// Kernels of the fine-tuning trainer (package finetune): the elementwise
// passes of a small neural network and its optimiser. Matrix products go
// through gonum's float32 BLAS. Every kernel is sequential and has a fixed
// order of operations, so results are bit-identical from run to run.

// AdamW holds the per-step constants of an AdamW update (Loshchilov and
// Hutter, "Decoupled Weight Decay Regularization").
type AdamW struct {
	LR, Beta1, Beta2, Eps float32
	// WeightDecay is multiplied by LR and applied to the weights directly.
	WeightDecay float32
	// Step is the 1-based step number, for bias correction.
	Step int
}

// Update applies one AdamW step to the parameters w with gradient g and
// moment estimates m and v (all the same length), in place.
func (a AdamW) Update(w, g, m, v []float32) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	t := float64(a.Step)
	c1 := float32(float64(a.LR) / (1 - math.Pow(float64(a.Beta1), t)))
	c2 := float32(1 / (1 - math.Pow(float64(a.Beta2), t)))
	b1, b2 := a.Beta1, a.Beta2
	ob1, ob2 := 1-b1, 1-b2
	decay := 1 - a.LR*a.WeightDecay
	eps := a.Eps
	for i := range w {
		gi := g[i]
		mi := b1*m[i] + ob1*gi
		vi := b2*v[i] + ob2*gi*gi
		m[i], v[i] = mi, vi
		w[i] = w[i]*decay - c1*mi/(float32(math.Sqrt(float64(vi*c2)))+eps)
	}
}

// AddRowVector adds b to each row of the row-major matrix x, whose row
// length is len(b).
func AddRowVector(x, b []float32) {
	d := len(b)
	for off := 0; off+d <= len(x); off += d {
		row := x[off : off+d]
		for j, bj := range b {
			row[j] += bj
		}
	}
}

// AddColumnSums adds the column sums of the row-major matrix x, whose rows
// have len(dst) elements, to dst. Rows are summed in order.
func AddColumnSums(dst, x []float32) {
	d := len(dst)
	for off := 0; off+d <= len(x); off += d {
		row := x[off : off+d]
		for j, v := range row {
			dst[j] += v
		}
	}
}

// ReLU replaces each element of x by max(0, x), in place. It is
// branchless (the sign bit masks the value), as half of the branches would
// be mispredicted.
func ReLU(x []float32) {
	for i, v := range x {
		b := math.Float32bits(v)
		x[i] = math.Float32frombits(b &^ uint32(int32(b)>>31))
	}
}

// ReLUGrad zeroes the gradient g where the ReLU's output y (as ReLU writes
// it: positive or +0) is not positive, in place, without branches.
func ReLUGrad(g, y []float32) {
	y = y[:len(g)]
	for i, v := range y {
		keep := uint32(-int32(math.Float32bits(v)) >> 31) // all ones if v > 0
		g[i] = math.Float32frombits(math.Float32bits(g[i]) & keep)
	}
}

// GELU constants of the tanh approximation.
const (
	geluC = 0.7978845608028654 // √(2/π)
	geluA = 0.044715
)

// GELU writes gelu(x) of each element of x into y (the tanh
// approximation of Hendrycks and Gimpel); y and x may be the same slice.
func GELU(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		u := float64(v)
		t := math.Tanh(geluC * (u + geluA*u*u*u))
		y[i] = float32(0.5 * u * (1 + t))
	}
}

// GELUGrad multiplies the gradient g by gelu'(x), in place, where x holds
// the GELU's inputs.
func GELUGrad(g, x []float32) {
	x = x[:len(g)]
	for i, v := range x {
		u := float64(v)
		t := math.Tanh(geluC * (u + geluA*u*u*u))
		d := 0.5*(1+t) + 0.5*u*(1-t*t)*geluC*(1+3*geluA*u*u)
		g[i] *= float32(d)
	}
}

// NormalizeRows scales each row of the row-major matrix x (rows of d
// elements) to unit L2 norm, in place, and stores each row's original norm
// in norms (len(x)/d elements). A zero row is left unchanged.
func NormalizeRows(x []float32, d int, norms []float32) {
	for r := range norms {
		norms[r] = float32(Normalize(x[r*d : (r+1)*d]))
	}
}

// Mul multiplies x by m elementwise, in place.
func Mul(x, m []float32) {
	m = m[:len(x)]
	for i, v := range m {
		x[i] *= v
	}
}

// Lerp moves dst towards x by the fraction t, in place:
// dst += t·(x - dst).
func Lerp(dst, x []float32, t float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += t * (v - dst[i])
	}
}
