package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatherSet is one way to run the three gather kernels.
type gatherSet struct {
	name    string
	dot, l2 func(q, slab []float32, ids []int32, out []float32)
	u8      func(q []float32, codes []uint8, ids []int32, out []float32)
}

// gatherSets returns the exported kernels and, where the assembly runs, the
// assembly kernels with every prefetch amount, down to none and past the
// end of the row (a prefetch never faults).
func gatherSets() []gatherSet {
	sets := []gatherSet{{name: "exported", dot: DotGather, l2: SquaredL2Gather, u8: DotU8Gather}}
	if !useAsm {
		return sets
	}
	for _, lines := range []int{0, 1, 2, 4, 100} {
		sets = append(sets, gatherSet{
			name: fmt.Sprintf("asm lines=%d", lines),
			dot: func(q, slab []float32, ids []int32, out []float32) {
				dotGatherAsm(q, slab, ids, out, lines)
			},
			l2: func(q, slab []float32, ids []int32, out []float32) {
				squaredL2GatherAsm(q, slab, ids, out, lines)
			},
			u8: func(q []float32, codes []uint8, ids []int32, out []float32) {
				dotU8GatherAsm(q, codes, ids, out, lines)
			},
		})
	}
	return sets
}

// TestGatherMatchesPairs requires every gather kernel to give each id bit
// for bit what the pair kernel (Dot8, SquaredL2x8, DotU8) gives for its
// row, for every dimension 0..300 and 784, unaligned slabs with no spare
// element after the last row, and random ids with repeats in any order
// (the first and last rows always among them), into an out longer than
// ids whose extra elements stay untouched.
func TestGatherMatchesPairs(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 10))
	dims := make([]int, 0, 302)
	for d := range 301 {
		dims = append(dims, d)
	}
	for _, d := range append(dims, 784) {
		rows := 1 + r.IntN(9)
		q, slab, codes := offsetVectors(d, d%4, (d/4)%4, d%8)
		slab = append(slab, make([]float32, rows*d)...)[d:]
		codes = append(codes, make([]uint8, rows*d)...)[d:]
		for j := range q {
			q[j] = float32(r.NormFloat64())
		}
		for j := range slab {
			slab[j] = float32(r.NormFloat64())
			codes[j] = uint8(r.IntN(256))
		}
		ids := []int32{0, int32(rows - 1)}
		for range r.IntN(40) {
			ids = append(ids, int32(r.IntN(rows)))
		}
		r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		ids = ids[:r.IntN(len(ids)+1)]
		for _, g := range gatherSets() {
			dots, l2s, u8s := make([]float32, len(ids)+1), make([]float32, len(ids)+1), make([]float32, len(ids)+1)
			dots[len(ids)], l2s[len(ids)], u8s[len(ids)] = -1, -1, -1
			g.dot(q, slab, ids, dots)
			g.l2(q, slab, ids, l2s)
			g.u8(q, codes, ids, u8s)
			for i, id := range ids {
				row, crow := slab[int(id)*d:int(id)*d+d], codes[int(id)*d:int(id)*d+d]
				require.Equal(t, math.Float32bits(Dot8(q, row)), math.Float32bits(dots[i]), "%s dot d=%d id %d", g.name, d, id)
				require.Equal(t, math.Float32bits(SquaredL2x8(q, row)), math.Float32bits(l2s[i]), "%s l2 d=%d id %d", g.name, d, id)
				require.Equal(t, math.Float32bits(DotU8(q, crow)), math.Float32bits(u8s[i]), "%s u8 d=%d id %d", g.name, d, id)
			}
			require.Equal(t, []float32{-1, -1, -1}, []float32{dots[len(ids)], l2s[len(ids)], u8s[len(ids)]}, "%s d=%d: out past ids written", g.name, d)
		}
	}
}

func TestGatherPanicsOnBadInput(t *testing.T) {
	t.Parallel()
	q := make([]float32, 4)
	slab := make([]float32, 3*4+3) // 3 whole rows and a partial one
	codes := make([]uint8, 3*4+3)
	out := make([]float32, 2)
	for name, args := range map[string]struct {
		q   []float32
		ids []int32
		out []float32
	}{
		"out shorter than ids": {q, []int32{0, 1, 2}, out},
		"id past the rows":     {q, []int32{0, 3}, out},
		"id far past the rows": {q, []int32{1 << 30, 0}, out},
		"negative id":          {q, []int32{1, -1}, out},
		"most negative id":     {q, []int32{math.MinInt32}, out},
		"negative id at d=0":   {nil, []int32{-1}, out},
	} {
		assert.Panics(t, func() { DotGather(args.q, slab, args.ids, args.out) }, "DotGather: %s", name)
		assert.Panics(t, func() { SquaredL2Gather(args.q, slab, args.ids, args.out) }, "SquaredL2Gather: %s", name)
		assert.Panics(t, func() { DotU8Gather(args.q, codes, args.ids, args.out) }, "DotU8Gather: %s", name)
	}
	assert.NotPanics(t, func() {
		DotGather(q, slab, []int32{2, 0}, out)
		DotGather(q, slab, nil, nil)
		DotGather(nil, nil, []int32{5, 7}, out) // rows of dimension 0: any row is empty
	})
}

// BenchmarkGather times one graph-search step, a query against 32 random
// rows (one node's neighbour list at M=16) of a slab of 256 MiB, far
// larger than the caches, so that nearly every row comes from memory. The
// ways to score them take turns call by call (each on the next 32 ids of a
// long random list), so that the load of a shared machine falls on all of
// them alike, and each is reported in ns per row of its median call: pairs, a Go loop calling
// Dot8 per id; lines=0, the assembly gather without prefetch; lines=n, with
// the first n cache lines of the next row prefetched (all of them for the
// largest n); DotGather, the exported kernel, and check, its check of the
// ids alone; u8pairs and DotU8Gather, the same two for uint8 codes.
func BenchmarkGather(b *testing.B) {
	const (
		slabBytes = 256 << 20
		perCall   = 32
		nids      = 1 << 20
	)
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range []int{128, 256, 784, 960} {
		rows := slabBytes / (4 * d)
		q, slab := make([]float32, d), make([]float32, rows*d)
		for j := range q {
			q[j] = float32(r.NormFloat64())
		}
		for j := range slab {
			slab[j] = float32(j%1000) * 1e-3
		}
		ids := make([]int32, nids)
		for i := range ids {
			ids[i] = int32(r.IntN(rows))
		}
		out := make([]float32, perCall)
		type way struct {
			name string
			f    func(ids []int32)
		}
		ways := []way{{"pairs", func(ids []int32) {
			for i, id := range ids {
				out[i] = Dot8(q, slab[int(id)*d:int(id)*d+d])
			}
		}}}
		if useAsm {
			for _, lines := range []int{0, 1, 2, 4, (4*d + 63) / 64} {
				ways = append(ways, way{fmt.Sprintf("lines=%d", lines), func(ids []int32) { dotGatherAsm(q, slab, ids, out, lines) }})
			}
		}
		ways = append(ways,
			way{"DotGather", func(ids []int32) { DotGather(q, slab, ids, out) }},
			way{"check", func(ids []int32) { checkGather(d, len(slab), ids, len(out)) }})
		// uint8 codes: a slab as large, so rows of a quarter of the size
		// and 4× as many of them (ids scaled up to reach them all).
		codes := make([]uint8, slabBytes)
		for j := range codes {
			codes[j] = uint8(j % 251)
		}
		ways = append(ways,
			way{"u8pairs", func(ids []int32) {
				for i, id := range ids {
					r := (4*int(id) + i%4) * d
					out[i] = DotU8(q, codes[r:r+d])
				}
			}},
			way{"DotU8Gather", func(ids []int32) {
				var u8ids [perCall]int32
				for i, id := range ids {
					u8ids[i] = 4*id + int32(i%4)
				}
				DotU8Gather(q, codes, u8ids[:len(ids)], out)
			}})
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			spent := make([][]time.Duration, len(ways))
			at := 0
			for b.Loop() {
				for w, way := range ways {
					if at+perCall > nids {
						at = 0
					}
					start := time.Now()
					way.f(ids[at : at+perCall])
					spent[w] = append(spent[w], time.Since(start))
					at += perCall
				}
			}
			for w, way := range ways {
				slices.Sort(spent[w]) // the median call: a call the scheduler interrupted counts no more than any other
				b.ReportMetric(float64(spent[w][len(spent[w])/2].Nanoseconds())/perCall, "ns/row-"+way.name)
			}
		})
	}
}
