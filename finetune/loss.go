package finetune

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/shoalhq/shoal/internal/vecmath"
)

// objective computes a batch's loss and its gradient with respect to the
// batch's unit embeddings z (n rows of d). Implementations keep their own
// scratch space; they are used by one goroutine at a time.
type objective interface {
	// loss returns the mean loss over the batch and writes dL/dz into dz.
	loss(ctx context.Context, z []float32, labels []int32, n, d int, dz []float32) (float64, error)
	// params returns the objective's own trainable parameters (the proxies
	// of the Proxy loss), with their gradients, after loss.
	params() (p, g [][]float32)
}

// pairLoss is the common frame of the losses over the batch's pairwise
// similarities (SupCon, Triplet): s = z·zᵀ, each row's loss and its gradient
// g = dL/ds are computed in parallel, then dz = (g + gᵀ)·z.
type pairLoss struct {
	rowLoss func(s []float32, i int, labels []int32, g []float32) (loss float64, anchor bool)
	s, g    []float32
	losses  []float64
	anchors []bool
}

func (p *pairLoss) params() (_, _ [][]float32) { return nil, nil }

func (p *pairLoss) loss(ctx context.Context, z []float32, labels []int32, n, d int, dz []float32) (float64, error) {
	if cap(p.s) < n*n {
		p.s, p.g = make([]float32, n*n), make([]float32, n*n)
		p.losses, p.anchors = make([]float64, n), make([]bool, n)
	}
	s, g := p.s[:n*n], p.g[:n*n]
	gemm(false, true, n, n, d, 1, z, z, 0, s)
	err := parallelChunks(ctx, n, 64, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			row := g[i*n : (i+1)*n]
			clear(row)
			p.losses[i], p.anchors[i] = p.rowLoss(s[i*n:(i+1)*n], i, labels[:n], row)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	total, anchors := 0.0, 0
	for i := range n {
		if p.anchors[i] {
			total += p.losses[i]
			anchors++
		}
	}
	if anchors == 0 {
		clear(dz[:n*d])
		return 0, nil
	}
	// Symmetrise and average: dz = (g + gᵀ)·z / anchors.
	inv := float32(1 / float64(anchors))
	for i := range n {
		for j := i; j < n; j++ {
			v := (g[i*n+j] + g[j*n+i]) * inv
			g[i*n+j], g[j*n+i] = v, v
		}
	}
	gemm(false, false, n, d, n, 1, g, z, 0, dz[:n*d])
	return total / float64(anchors), nil
}

// newSupCon returns the supervised contrastive loss (Khosla et al., 2020,
// the "L_out" form) at temperature tau: for anchor i with positives P(i),
// -1/|P(i)| Σ_p log softmax_{a≠i}(s_ia/τ)_p.
func newSupCon(tau float64) *pairLoss {
	invTau := 1 / tau
	return &pairLoss{rowLoss: func(s []float32, i int, labels []int32, g []float32) (float64, bool) {
		li := labels[i]
		positives := 0
		maxv := math.Inf(-1)
		for j, v := range s {
			if j == i {
				continue
			}
			if labels[j] == li {
				positives++
			}
			maxv = max(maxv, float64(v)*invTau)
		}
		if positives == 0 {
			return 0, false
		}
		sum := 0.0
		for j, v := range s {
			if j == i {
				continue
			}
			e := math.Exp(float64(v)*invTau - maxv)
			g[j] = float32(e)
			sum += e
		}
		lse := maxv + math.Log(sum)
		invSum, invP := 1/sum, 1/float64(positives)
		loss := 0.0
		for j, v := range s {
			if j == i {
				continue
			}
			grad := float64(g[j]) * invSum
			if labels[j] == li {
				loss += lse - float64(v)*invTau
				grad -= invP
			}
			g[j] = float32(grad * invTau)
		}
		return loss * invP, true
	}}
}

// newTriplet returns the batch-hard triplet loss (Hermans et al., 2017)
// with the given margin, on squared distances between unit vectors
// (2 - 2·s): max(0, margin + d(a, hardest positive) - d(a, hardest negative)).
func newTriplet(margin float64) *pairLoss {
	return &pairLoss{rowLoss: func(s []float32, i int, labels []int32, g []float32) (float64, bool) {
		li := labels[i]
		hp, hn := -1, -1
		for j, v := range s {
			if j == i {
				continue
			}
			if labels[j] == li {
				if hp < 0 || v < s[hp] {
					hp = j
				}
			} else if hn < 0 || v > s[hn] {
				hn = j
			}
		}
		if hp < 0 || hn < 0 {
			return 0, false
		}
		loss := margin + 2*float64(s[hn]) - 2*float64(s[hp])
		if loss <= 0 {
			return 0, true
		}
		g[hn] += 2
		g[hp] -= 2
		return loss, true
	}}
}

// proxyLoss is the normalised-softmax loss: a learned vector per class,
// normalised, and a softmax cross-entropy over the cosine similarities to
// them divided by the temperature.
type proxyLoss struct {
	classes, d int
	invTau     float64
	w, dw      []float32 // classes × d, the raw proxies and their gradient
	unit       []float32 // normalised proxies
	norms      []float32
	logits     []float32 // n × classes
	dunit      []float32 // gradient w.r.t. the normalised proxies
	losses     []float64
}

func newProxy(classes, d int, tau float64, rng *rand.Rand) *proxyLoss {
	p := &proxyLoss{
		classes: classes, d: d, invTau: 1 / tau,
		w: make([]float32, classes*d), dw: make([]float32, classes*d),
		unit: make([]float32, classes*d), dunit: make([]float32, classes*d),
		norms: make([]float32, classes),
	}
	for i := range p.w {
		p.w[i] = float32(rng.NormFloat64())
	}
	return p
}

func (p *proxyLoss) params() (_, _ [][]float32) { return [][]float32{p.w}, [][]float32{p.dw} }

func (p *proxyLoss) loss(ctx context.Context, z []float32, labels []int32, n, d int, dz []float32) (float64, error) {
	c := p.classes
	if cap(p.logits) < n*c {
		p.logits, p.losses = make([]float32, n*c), make([]float64, n)
	}
	copy(p.unit, p.w)
	vecmath.NormalizeRows(p.unit, d, p.norms)
	logits := p.logits[:n*c]
	gemm(false, true, n, c, d, 1, z, p.unit, 0, logits)
	// Row-wise softmax cross-entropy; logits becomes dL/dlogit.
	invN := 1 / float64(n)
	err := parallelChunks(ctx, n, 64, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			row := logits[i*c : (i+1)*c]
			maxv := math.Inf(-1)
			for _, v := range row {
				maxv = max(maxv, float64(v)*p.invTau)
			}
			sum := 0.0
			for _, v := range row {
				sum += math.Exp(float64(v)*p.invTau - maxv)
			}
			lse := maxv + math.Log(sum)
			y := labels[i]
			p.losses[i] = lse - float64(row[y])*p.invTau
			for j, v := range row {
				grad := math.Exp(float64(v)*p.invTau-lse) * invN
				if int32(j) == y {
					grad -= invN
				}
				row[j] = float32(grad * p.invTau)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	gemm(false, false, n, d, c, 1, logits, p.unit, 0, dz[:n*d])
	gemm(true, false, c, d, n, 1, logits, z, 0, p.dunit)
	// Through the proxies' normalisation.
	for k := range c {
		u := p.unit[k*d : (k+1)*d]
		du := p.dunit[k*d : (k+1)*d]
		dot := vecmath.Dot(u, du)
		inv := float32(0)
		if p.norms[k] > 0 {
			inv = 1 / p.norms[k]
		}
		dw := p.dw[k*d : (k+1)*d]
		for j := range dw {
			dw[j] = (du[j] - u[j]*dot) * inv
		}
	}
	total := 0.0
	for _, l := range p.losses[:n] {
		total += l
	}
	return total * invN, nil
}
