package look

import (
	"context"
	"math"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Block sizes of the GEMM-based joins: a 192-query × 1024-target block of
// keys is 768 KiB, and 192 is a multiple of the GEMM kernel's 6 rows.
const (
	queryBlock  = 192
	targetBlock = 1024
)

var keyBuffers = sync.Pool{New: func() any {
	b := make([]float32, queryBlock*targetBlock)
	return &b
}}

// A key orders targets by distance to a query, smaller nearer, and is
// cheap to get from a GEMM: with the query scaled by s and the target's
// additive term t,
//
//	cosine (unit vectors): key = −q·x          distance = 1 + key
//	dot product:           key = −q·x          distance = key
//	Euclidean:             key = ‖x‖² − 2q·x   distance = √(‖q‖² + key)
//
// queryScale and the per-target terms (‖x‖² under Euclidean, none
// otherwise) implement it.
func queryScale(m index.Metric) float32 {
	if m == index.Euclidean {
		return -2
	}
	return -1
}

// keyToDistance converts a key of query q (squared norm qn) to a distance.
func keyToDistance(m index.Metric, key, qn float32) float64 {
	switch m {
	case index.Cosine:
		return max(0, 1+float64(key))
	case index.Euclidean:
		return math.Sqrt(max(0, float64(qn)+float64(key)))
	}
	return float64(key)
}

// distanceToKey is the largest key whose distance is at most d for a
// query of squared norm qn.
func distanceToKey(m index.Metric, d float64, qn float32) float32 {
	switch m {
	case index.Cosine:
		return float32(d - 1)
	case index.Euclidean:
		return float32(d*d - float64(qn))
	}
	return float32(d)
}

// squaredNorms returns ‖row‖² of each row of x (n × d).
func squaredNorms(x []float32, n, d int) []float32 {
	out := make([]float32, n)
	for i := range out {
		r := x[i*d : (i+1)*d]
		out[i] = vecmath.Dot(r, r)
	}
	return out
}

// blockJoin computes the keys between the m query rows of q (already
// scaled by queryScale) and the n target rows of t (dimension d), with the
// targets' additive terms tadd (nil for none), one block of targets at a
// time, and calls emit(qi, keys, t0) for each query row qi < m and each
// target block starting at t0. It runs on the calling goroutine; m must be
// at most queryBlock.
func blockJoin(q []float32, m int, t []float32, n, d int, tadd []float32, emit func(qi int, keys []float32, t0 int)) {
	bp := keyBuffers.Get().(*[]float32)
	buf := *bp
	defer keyBuffers.Put(bp)
	for t0 := 0; t0 < n; t0 += targetBlock {
		tn := min(targetBlock, n-t0)
		c := buf[:m*tn]
		if tadd != nil {
			for i := range m {
				copy(c[i*tn:(i+1)*tn], tadd[t0:t0+tn])
			}
			vecmath.Sgemm(false, true, m, tn, d, q, d, t[t0*d:], d, false, c, tn)
		} else {
			vecmath.Sgemm(false, true, m, tn, d, q, d, t[t0*d:], d, true, c, tn)
		}
		for i := range m {
			emit(i, c[i*tn:(i+1)*tn], t0)
		}
	}
}

// scaledRows copies rows idx (or lo..hi when idx is nil) of x into dst,
// scaled by s, and returns it.
func scaledRows(dst, x []float32, d int, idx []int32, lo, hi int, s float32) []float32 {
	dst = dst[:0]
	if idx == nil {
		for i := lo; i < hi; i++ {
			for _, v := range x[i*d : (i+1)*d] {
				dst = append(dst, s*v)
			}
		}
		return dst
	}
	for _, i := range idx {
		for _, v := range x[int(i)*d : (int(i)+1)*d] {
			dst = append(dst, s*v)
		}
	}
	return dst
}

// joinRows runs blockJoin for query rows qidx (all n rows of x when nil)
// of x against the targets t (tn rows), queryBlock rows per task, up to
// conc tasks at once. emit receives the query's index in x.
func joinRows(ctx context.Context, conc int, m index.Metric, x []float32, d int, qidx []int32, qn int, t []float32, tn int, tadd []float32, emit func(q int, keys []float32, t0 int)) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	s := queryScale(m)
	for q0 := 0; q0 < qn; q0 += queryBlock {
		if err := gctx.Err(); err != nil {
			break
		}
		q1 := min(q0+queryBlock, qn)
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			var sub []int32
			lo, hi := q0, q1
			if qidx != nil {
				sub, lo, hi = qidx[q0:q1], 0, 0
			}
			qs := scaledRows(make([]float32, 0, (q1-q0)*d), x, d, sub, lo, hi, s)
			blockJoin(qs, q1-q0, t, tn, d, tadd, func(qi int, keys []float32, t0 int) {
				q := q0 + qi
				if qidx != nil {
					q = int(qidx[q0+qi])
				}
				emit(q, keys, t0)
			})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
