package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The distance kernels (Dot8, SquaredL2x8, DotU8 and their Rows forms) in
// their two implementations: Go, always, and the AVX2/FMA assembly where
// this build and CPU have it (useAsm). The tests hold each against a
// float64 reference, the two against each other, and the Rows forms bit
// for bit against the pair kernels.

// kernelSet is one implementation of the distance kernels.
type kernelSet struct {
	name            string
	dot, l2         func(a, b []float32) float32
	u8              func(q []float32, codes []uint8) float32
	dotRows, l2Rows func(q, rows, out []float32)
	u8Rows          func(q []float32, codes []uint8, out []float32)
}

func goRows(pair func(a, b []float32) float32) func(q, rows, out []float32) {
	return func(q, rows, out []float32) {
		d := len(q)
		for i := range out {
			out[i] = pair(q, rows[i*d:i*d+d])
		}
	}
}

func kernelSets() []kernelSet {
	sets := []kernelSet{{
		name: "go", dot: dot8, l2: squaredL2x8, u8: dotU8,
		dotRows: goRows(dot8), l2Rows: goRows(squaredL2x8),
		u8Rows: func(q []float32, codes []uint8, out []float32) {
			d := len(q)
			for i := range out {
				out[i] = dotU8(q, codes[i*d:i*d+d])
			}
		},
	}}
	if useAsm {
		sets = append(sets, kernelSet{
			name: "asm", dot: dotAsm, l2: squaredL2Asm, u8: dotU8Asm,
			dotRows: dotRowsAsm, l2Rows: squaredL2RowsAsm, u8Rows: dotU8RowsAsm,
		})
	}
	return sets
}

// refDot, refL2 and refU8 return the float64 value of each kernel and the
// sum of the absolute values of its terms, which bounds the rounding error
// of any float32 summation order: |got - want| ≤ (n+3)·2⁻²³·Σ|terms|
// (γₙ with a factor of 2 to spare; the +3 covers the rounding of a-b).
func refDot(a, b []float32) (want, abs float64) {
	for j := range a {
		t := float64(a[j]) * float64(b[j])
		want += t
		abs += math.Abs(t)
	}
	return want, abs
}

func refL2(a, b []float32) (want, abs float64) {
	for j := range a {
		d := float64(a[j]) - float64(b[j])
		want += d * d
	}
	return want, want
}

func refU8(q []float32, c []uint8) (want, abs float64) {
	for j := range q {
		t := float64(q[j]) * float64(c[j])
		want += t
		abs += math.Abs(t)
	}
	return want, abs
}

func within(got float32, want, abs float64, n int) bool {
	return math.Abs(float64(got)-want) <= float64(n+3)*0x1p-23*abs
}

// offsetVectors returns a of n floats starting oa elements into a fresh
// buffer, b of n floats starting ob elements in, and codes of n bytes
// starting oc bytes in, so that the kernels see unaligned starts.
func offsetVectors(n, oa, ob, oc int) (a, b []float32, codes []uint8) {
	a = make([]float32, n+oa)[oa:]
	b = make([]float32, n+ob)[ob:]
	codes = make([]uint8, n+oc)[oc:]
	return a, b, codes
}

// TestKernelsExact runs every length 0..1100 (every tail of the 32- and
// 8-wide loops) from unaligned starts, on small integers, where every
// partial sum is exact whatever the order: both implementations must give
// the exact value.
func TestKernelsExact(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 1100; n++ {
		a, b, codes := offsetVectors(n, n%4, (n/4)%3, n%8)
		for j := range n {
			a[j] = float32(r.IntN(17) - 8)
			b[j] = float32(r.IntN(17) - 8)
			codes[j] = uint8(r.IntN(256))
		}
		wantDot, _ := refDot(a, b)
		wantL2, _ := refL2(a, b)
		wantU8, _ := refU8(a, codes)
		for _, k := range kernelSets() {
			require.Equal(t, float32(wantDot), k.dot(a, b), "%s dot n=%d", k.name, n)
			require.Equal(t, float32(wantL2), k.l2(a, b), "%s l2 n=%d", k.name, n)
			require.Equal(t, float32(wantU8), k.u8(a, codes), "%s u8 n=%d", k.name, n)
		}
	}
}

// TestKernelsAgree holds both implementations to the float64 value within
// the rounding bound, and to each other, on random lengths, unaligned
// starts and magnitudes from 1e-15 to 1e15 (also mixed within a vector and
// nearly cancelling).
func TestKernelsAgree(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	scales := map[string]func() float64{
		"unit":  func() float64 { return 1 },
		"large": func() float64 { return 1e15 },
		"small": func() float64 { return 1e-15 },
		"mixed": func() float64 { return math.Ldexp(1, r.IntN(61)-30) },
	}
	for name, scale := range scales {
		for trial := range 120 {
			n := r.IntN(1101)
			a, b, codes := offsetVectors(n, r.IntN(4), r.IntN(4), r.IntN(8))
			for j := range n {
				a[j] = float32(r.NormFloat64() * scale())
				b[j] = float32(r.NormFloat64() * scale())
				if trial%3 == 0 { // nearly cancelling: b close to a, or to -a
					b[j] = a[j] * float32(1+1e-3*r.NormFloat64())
					if j%2 == 1 {
						b[j] = -b[j]
					}
				}
				codes[j] = uint8(r.IntN(256))
			}
			wantDot, absDot := refDot(a, b)
			wantL2, absL2 := refL2(a, b)
			wantU8, absU8 := refU8(a, codes)
			var got [3][]float32
			for _, k := range kernelSets() {
				d, l, u := k.dot(a, b), k.l2(a, b), k.u8(a, codes)
				assert.True(t, within(d, wantDot, absDot, n), "%s %s dot n=%d: %v, want %v", name, k.name, n, d, wantDot)
				assert.True(t, within(l, wantL2, absL2, n), "%s %s l2 n=%d: %v, want %v", name, k.name, n, l, wantL2)
				assert.True(t, within(u, wantU8, absU8, n), "%s %s u8 n=%d: %v, want %v", name, k.name, n, u, wantU8)
				got[0], got[1], got[2] = append(got[0], d), append(got[1], l), append(got[2], u)
			}
			if len(got[0]) == 2 { // asm against go: each within the bound, so within twice it
				assert.True(t, within(got[0][0]-got[0][1], 0, 2*absDot, n), "%s dot n=%d: go %v, asm %v", name, n, got[0][0], got[0][1])
				assert.True(t, within(got[1][0]-got[1][1], 0, 2*absL2, n), "%s l2 n=%d: go %v, asm %v", name, n, got[1][0], got[1][1])
				assert.True(t, within(got[2][0]-got[2][1], 0, 2*absU8, n), "%s u8 n=%d: go %v, asm %v", name, n, got[2][0], got[2][1])
			}
		}
	}
}

// TestKernelRows checks that the Rows forms give each row bit for bit what
// the pair kernel gives, for both implementations and through the exported
// entry points (Dot8, DotRows, …), including rows of dimension 0, no rows,
// and a slab longer than len(out) rows.
func TestKernelRows(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	exported := kernelSet{
		name: "exported", dot: Dot8, l2: SquaredL2x8, u8: DotU8,
		dotRows: DotRows, l2Rows: SquaredL2Rows, u8Rows: DotU8Rows,
	}
	for _, shape := range [][2]int{{0, 0}, {3, 0}, {0, 5}, {1, 1}, {5, 7}, {9, 8}, {4, 33}, {17, 100}, {3, 784}} {
		rows, d := shape[0], shape[1]
		q, slab, codes := offsetVectors(d, 1, 3, 5)
		slab = append(slab, make([]float32, rows*d+d)...)[d:] // one spare row
		codes = append(codes, make([]uint8, rows*d+d)...)[d:]
		for j := range q {
			q[j] = float32(r.NormFloat64())
		}
		for j := range slab {
			slab[j] = float32(r.NormFloat64())
			codes[j] = uint8(r.IntN(256))
		}
		for _, k := range append(kernelSets(), exported) {
			dots, l2s, u8s := make([]float32, rows), make([]float32, rows), make([]float32, rows)
			k.dotRows(q, slab, dots)
			k.l2Rows(q, slab, l2s)
			k.u8Rows(q, codes, u8s)
			for i := range rows {
				row, crow := slab[i*d:(i+1)*d], codes[i*d:(i+1)*d]
				assert.Equal(t, math.Float32bits(k.dot(q, row)), math.Float32bits(dots[i]), "%s dot rows=%d d=%d row %d", k.name, rows, d, i)
				assert.Equal(t, math.Float32bits(k.l2(q, row)), math.Float32bits(l2s[i]), "%s l2 rows=%d d=%d row %d", k.name, rows, d, i)
				assert.Equal(t, math.Float32bits(k.u8(q, crow)), math.Float32bits(u8s[i]), "%s u8 rows=%d d=%d row %d", k.name, rows, d, i)
			}
		}
	}
}

func TestKernelsPanicOnBadLengths(t *testing.T) {
	t.Parallel()
	q := make([]float32, 4)
	for name, f := range map[string]func(){
		"Dot8":          func() { Dot8(q, make([]float32, 3)) },
		"SquaredL2x8":   func() { SquaredL2x8(q, make([]float32, 5)) },
		"DotU8":         func() { DotU8(q, make([]uint8, 3)) },
		"DotRows":       func() { DotRows(q, make([]float32, 7), make([]float32, 2)) },
		"SquaredL2Rows": func() { SquaredL2Rows(q, make([]float32, 7), make([]float32, 2)) },
		"DotU8Rows":     func() { DotU8Rows(q, make([]uint8, 7), make([]float32, 2)) },
	} {
		assert.Panics(t, f, name)
	}
}

// FuzzDotAgree builds vectors from the fuzzer's bytes (signed bytes scaled
// by 2^exp, unaligned by off) whose sums are exact in float32, and requires
// both implementations of every kernel to give the exact value.
func FuzzDotAgree(f *testing.F) {
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 40, 63, 64, 65, 100, 257} {
		data := make([]byte, 2*n)
		for i := range data {
			data[i] = byte(i*37 + n)
		}
		f.Add(data, uint8(n), int8(n%7-3))
	}
	f.Add([]byte{0x80, 0x80, 0x7f, 0x7f, 0xff, 0x01}, uint8(3), int8(40))
	f.Add([]byte{0x80, 0x80, 0x7f, 0x7f, 0xff, 0x01}, uint8(6), int8(-40))
	f.Fuzz(func(t *testing.T, data []byte, off uint8, exp int8) {
		e := max(-40, min(40, int(exp))) // |terms| between 2^-80 and 2^94: no overflow, no subnormals
		n := len(data) / 2
		a, b, codes := offsetVectors(n, int(off%4), int(off/4%4), int(off/16%8))
		for j := range n {
			a[j] = float32(math.Ldexp(float64(int8(data[2*j])), e))
			b[j] = float32(math.Ldexp(float64(int8(data[2*j+1])), e))
			codes[j] = data[2*j+1]
		}
		wantDot, _ := refDot(a, b)
		wantL2, _ := refL2(a, b)
		wantU8, _ := refU8(a, codes)
		for _, k := range kernelSets() {
			if got := k.dot(a, b); float64(got) != wantDot {
				t.Fatalf("%s dot n=%d: %v, want %v", k.name, n, got, wantDot)
			}
			if got := k.l2(a, b); float64(got) != wantL2 {
				t.Fatalf("%s l2 n=%d: %v, want %v", k.name, n, got, wantL2)
			}
			if got := k.u8(a, codes); float64(got) != wantU8 {
				t.Fatalf("%s u8 n=%d: %v, want %v", k.name, n, got, wantU8)
			}
		}
	})
}

// benchDims are the dimensions the kernels are timed at: small embeddings,
// SIFT-like, Fashion-MNIST pixels and OpenAI's text-embedding-3-small.
var benchDims = []int{64, 128, 256, 784, 1536}

// benchPair times a pair kernel per implementation and dimension
// (sub-benchmarks d=…/asm and d=…/go).
func benchPair(b *testing.B, pick func(k kernelSet) func(a, b []float32) float32) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range benchDims {
		x, y := make([]float32, d), make([]float32, d)
		for j := range d {
			x[j], y[j] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		for _, k := range kernelSets() {
			f := pick(k)
			b.Run(fmt.Sprintf("d=%d/%s", d, k.name), func(b *testing.B) {
				b.SetBytes(int64(8 * d))
				var s float32
				for b.Loop() {
					s += f(x, y)
				}
				sink = s
			})
		}
	}
}

var sink float32

func BenchmarkDot(b *testing.B) {
	benchPair(b, func(k kernelSet) func(a, b []float32) float32 { return k.dot })
}

func BenchmarkSquaredL2(b *testing.B) {
	benchPair(b, func(k kernelSet) func(a, b []float32) float32 { return k.l2 })
}

func BenchmarkDotU8(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range benchDims {
		q, c := make([]float32, d), make([]uint8, d)
		for j := range d {
			q[j], c[j] = float32(r.NormFloat64()), uint8(r.IntN(256))
		}
		for _, k := range kernelSets() {
			b.Run(fmt.Sprintf("d=%d/%s", d, k.name), func(b *testing.B) {
				b.SetBytes(int64(5 * d))
				var s float32
				for b.Loop() {
					s += k.u8(q, c)
				}
				sink = s
			})
		}
	}
}

// BenchmarkDotRows times DotRows over 256 rows (a slab that stays in the
// caches up to d=784), per implementation; asmpairs is a Go loop calling
// the pair kernel, the alternative to the loop in assembly.
func BenchmarkDotRows(b *testing.B) {
	const rows = 256
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range benchDims {
		q, slab, out := make([]float32, d), make([]float32, rows*d), make([]float32, rows)
		for j := range q {
			q[j] = float32(r.NormFloat64())
		}
		for j := range slab {
			slab[j] = float32(r.NormFloat64())
		}
		sets := kernelSets()
		if useAsm {
			sets = append(sets, kernelSet{name: "asmpairs", dotRows: goRows(dotAsm)})
		}
		for _, k := range sets {
			b.Run(fmt.Sprintf("d=%d/%s", d, k.name), func(b *testing.B) {
				b.SetBytes(int64(4 * rows * d))
				for b.Loop() {
					k.dotRows(q, slab, out)
				}
			})
		}
	}
}
