package vecmath

// Activation functions of a small neural network and their gradients,
// applied elementwise in place. Each is sequential with a fixed order of
// operations, so results are bit-identical from run to run.

import "math"

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
