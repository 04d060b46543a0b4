package finetune

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/shoalhq/shoal/internal/vecmath"
)

// dense is a fully connected layer: y = x·wᵀ + b.
type dense struct {
	in, out int
	w       []float32 // out × in, row-major
	b       []float32 // out
}

// head is the adapter: an optional fixed input projection (centring and
// principal components), then dense layers with an activation between them,
// then L2 normalisation. It is immutable once trained, so a model can use it
// from many goroutines.
type head struct {
	inDim  int       // base embedding dimension
	mean   []float32 // inDim; nil without input projection
	proj   []float32 // pcaDim × inDim; nil without input projection
	pcaDim int
	act    Activation
	layers []dense
}

// firstDim is the width of the first dense layer's input.
func (h *head) firstDim() int {
	if h.proj != nil {
		return h.pcaDim
	}
	return h.inDim
}

// outDim is the dimension of the head's output.
func (h *head) outDim() int { return h.layers[len(h.layers)-1].out }

// newHead returns a head with freshly initialised layers of the given
// widths (hidden..., out) over inputs of dimension first: He-uniform weights
// for layers followed by an activation, Glorot-uniform for the last one,
// zero biases.
func newHead(inDim int, mean, proj []float32, pcaDim int, act Activation, hidden []int, out int, rng *rand.Rand) *head {
	h := &head{inDim: inDim, mean: mean, proj: proj, pcaDim: pcaDim, act: act}
	in := h.firstDim()
	widths := append(append([]int(nil), hidden...), out)
	for i, w := range widths {
		l := dense{in: in, out: w, w: make([]float32, w*in), b: make([]float32, w)}
		bound := math.Sqrt(6 / float64(in))
		if i == len(widths)-1 {
			bound = math.Sqrt(6 / float64(in+w))
		}
		for j := range l.w {
			l.w[j] = float32((2*rng.Float64() - 1) * bound)
		}
		h.layers = append(h.layers, l)
		in = w
	}
	return h
}

// clone returns a deep copy of h's layers (the fixed projection is shared).
func (h *head) clone() *head {
	c := *h
	c.layers = make([]dense, len(h.layers))
	for i, l := range h.layers {
		c.layers[i] = dense{in: l.in, out: l.out, w: append([]float32(nil), l.w...), b: append([]float32(nil), l.b...)}
	}
	return &c
}

// copyFrom copies o's weights into h, which has the same shape.
func (h *head) copyFrom(o *head) {
	for i := range h.layers {
		copy(h.layers[i].w, o.layers[i].w)
		copy(h.layers[i].b, o.layers[i].b)
	}
}

// prepare maps n base embeddings (rows of x) to the first layer's inputs,
// written to dst (n × firstDim). Without an input projection it copies.
func (h *head) prepare(dst, x []float32, n int) {
	if h.proj == nil {
		copy(dst, x[:n*h.inDim])
		return
	}
	// (x - mean)·projᵀ = x·projᵀ - proj·mean.
	gemm(false, true, n, h.pcaDim, h.inDim, 1, x[:n*h.inDim], h.proj, 0, dst[:n*h.pcaDim])
	shift := make([]float32, h.pcaDim)
	gemm(false, true, 1, h.pcaDim, h.inDim, -1, h.mean, h.proj, 0, shift)
	vecmath.AddRowVector(dst[:n*h.pcaDim], shift)
}

// activations holds a forward pass's intermediate values for n rows: pre[l]
// is layer l's output before the activation, post[l] after (the same slice
// for the last layer, whose output is then normalised into out).
type activations struct {
	n     int
	pre   [][]float32
	post  [][]float32
	out   []float32 // n × outDim, unit rows
	norms []float32 // n, the norms before normalisation
	// masks[l] scales layer l's activations in training: 0 for a dropped
	// unit, 1/(1-p) for a kept one; nil without dropout.
	masks [][]float32
}

// dropout draws the masks of inverted dropout: each hidden unit of each row
// is zeroed with probability p and the others scaled by 1/(1-p), so the
// expected activation is unchanged and inference needs no rescaling.
type dropout struct {
	p   float64
	rng *rand.Rand
}

// draw fills the masks of the first n rows of a.
func (d *dropout) draw(h *head, a *activations, n int) {
	if a.masks == nil {
		a.masks = make([][]float32, len(h.layers)-1)
		for i := range a.masks {
			a.masks[i] = make([]float32, len(a.pre[i]))
		}
	}
	keep := float32(1 / (1 - d.p))
	threshold := uint64(d.p * (1 << 53))
	for i, m := range a.masks {
		m = m[:n*h.layers[i].out]
		for j := range m {
			if d.rng.Uint64()>>11 < threshold {
				m[j] = 0
			} else {
				m[j] = keep
			}
		}
	}
}

func (h *head) newActivations(n int) *activations {
	a := &activations{n: n, out: make([]float32, n*h.outDim()), norms: make([]float32, n)}
	for i, l := range h.layers {
		pre := make([]float32, n*l.out)
		post := pre
		if i < len(h.layers)-1 && h.act == GELU {
			post = make([]float32, n*l.out)
		}
		a.pre = append(a.pre, pre)
		a.post = append(a.post, post)
	}
	return a
}

// forward runs the dense layers on n prepared inputs (n × firstDim) and
// leaves every intermediate value in a. With ReLU the activation is applied
// in place (pre and post share storage), which is all backward needs. With
// train, the masks in a (see dropout) scale the hidden activations.
func (h *head) forward(x []float32, n int, a *activations, train bool) {
	in := x[:n*h.firstDim()]
	for i, l := range h.layers {
		pre := a.pre[i][:n*l.out]
		gemm(false, true, n, l.out, l.in, 1, in, l.w, 0, pre)
		vecmath.AddRowVector(pre, l.b)
		if i < len(h.layers)-1 {
			switch h.act {
			case GELU:
				vecmath.GELU(a.post[i][:n*l.out], pre)
			default:
				vecmath.ReLU(pre)
			}
			if train && a.masks != nil {
				vecmath.Mul(a.post[i][:n*l.out], a.masks[i][:n*l.out])
			}
		}
		in = a.post[i][:n*l.out]
	}
	d := h.outDim()
	copy(a.out[:n*d], in)
	vecmath.NormalizeRows(a.out[:n*d], d, a.norms[:n])
}

// grads holds the gradients of a head's layers.
type grads struct {
	w, b [][]float32
	// scratch for the gradient flowing between layers
	da, dh [][]float32
}

func (h *head) newGrads(n int) *grads {
	g := &grads{}
	for _, l := range h.layers {
		g.w = append(g.w, make([]float32, len(l.w)))
		g.b = append(g.b, make([]float32, len(l.b)))
		g.da = append(g.da, make([]float32, n*l.out))
		g.dh = append(g.dh, make([]float32, n*l.in))
	}
	return g
}

// backward computes the gradients of the loss with respect to the layers'
// weights and biases, given dout, its gradient with respect to the n
// normalised outputs, and the inputs x and activations a of forward.
func (h *head) backward(x, dout []float32, n int, a *activations, g *grads) {
	d := h.outDim()
	last := len(h.layers) - 1
	// Through the normalisation y = v/|v|: dv = (dy - y·(y·dy)) / |v|.
	da := g.da[last][:n*d]
	for r := range n {
		y := a.out[r*d : (r+1)*d]
		dy := dout[r*d : (r+1)*d]
		dot := vecmath.Dot(y, dy)
		inv := float32(0)
		if a.norms[r] > 0 {
			inv = 1 / a.norms[r]
		}
		row := da[r*d : (r+1)*d]
		for j := range row {
			row[j] = (dy[j] - y[j]*dot) * inv
		}
	}
	for i := last; i >= 0; i-- {
		l := h.layers[i]
		da := g.da[i][:n*l.out]
		var in []float32
		if i > 0 {
			in = a.post[i-1][:n*l.in]
		} else {
			in = x[:n*l.in]
		}
		gemm(true, false, l.out, l.in, n, 1, da, in, 0, g.w[i])
		clear(g.b[i])
		vecmath.AddColumnSums(g.b[i], da)
		if i == 0 {
			break
		}
		prev := g.da[i-1][:n*l.in]
		gemm(false, false, n, l.in, l.out, 1, da, l.w, 0, prev)
		if a.masks != nil {
			vecmath.Mul(prev, a.masks[i-1][:n*l.in])
		}
		switch h.act {
		case GELU:
			vecmath.GELUGrad(prev, a.pre[i-1][:n*l.in])
		default:
			vecmath.ReLUGrad(prev, a.pre[i-1][:n*l.in])
		}
	}
}

// projectBatch is the number of rows embedded by one forward pass in
// project.
const projectBatch = 256

// project maps n base embeddings (rows of x, n × inDim) to unit output
// vectors, written to dst (n × outDim), in parallel batches.
func (h *head) project(ctx context.Context, dst, x []float32, n int) error {
	d := h.outDim()
	return parallelChunks(ctx, n, projectBatch, func(lo, hi int) error {
		m := hi - lo
		in := make([]float32, m*h.firstDim())
		h.prepare(in, x[lo*h.inDim:hi*h.inDim], m)
		a := h.newActivations(m)
		h.forward(in, m, a, false)
		copy(dst[lo*d:hi*d], a.out)
		return nil
	})
}
