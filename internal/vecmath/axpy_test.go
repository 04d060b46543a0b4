package vecmath

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAddScaledRows(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, shape := range [][2]int{{0, 3}, {1, 1}, {3, 5}, {4, 8}, {7, 13}, {9, 784}} {
		n, d := shape[0], shape[1]
		rows := make([]float32, n*d)
		coef := make([]float32, n)
		for i := range rows {
			rows[i] = float32(r.NormFloat64())
		}
		for i := range coef {
			coef[i] = float32(r.NormFloat64())
		}
		dst := make([]float32, d)
		sq := make([]float32, d)
		for j := range dst {
			dst[j] = float32(j)
			sq[j] = float32(j)
		}
		AddScaledRows(dst, coef, rows)
		AddScaledSquaredRows(sq, coef, rows)
		for j := range d {
			want, wantSq := float64(j), float64(j)
			for i := range n {
				x := float64(rows[i*d+j])
				want += float64(coef[i]) * x
				wantSq += float64(coef[i]) * x * x
			}
			if math.Abs(float64(dst[j])-want) > 1e-4*(1+math.Abs(want)) {
				t.Fatalf("n=%d d=%d: AddScaledRows[%d] = %v, want %v", n, d, j, dst[j], want)
			}
			if math.Abs(float64(sq[j])-wantSq) > 1e-4*(1+math.Abs(wantSq)) {
				t.Fatalf("n=%d d=%d: AddScaledSquaredRows[%d] = %v, want %v", n, d, j, sq[j], wantSq)
			}
		}
	}
}

func TestAddScaledRowsShortPanics(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]func([]float32, []float32, []float32){
		"AddScaledRows": AddScaledRows, "AddScaledSquaredRows": AddScaledSquaredRows,
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic on short rows", name)
				}
			}()
			f(make([]float32, 4), make([]float32, 3), make([]float32, 11))
		}()
	}
}

func BenchmarkAddScaledRows(b *testing.B) {
	const n, d = 300, 784
	rows := make([]float32, n*d)
	coef := make([]float32, n)
	dst := make([]float32, d)
	for i := range rows {
		rows[i] = float32(i%7) / 7
	}
	for i := range coef {
		coef[i] = 0.5
	}
	b.SetBytes(int64(len(rows) * 4))
	for b.Loop() {
		AddScaledRows(dst, coef, rows)
	}
}

func TestAddScaledUnrolled(t *testing.T) {
	t.Parallel()
	for n := range 11 {
		dst := make([]float32, n)
		x := make([]float32, n+2)
		want := make([]float32, n)
		for i := range dst {
			dst[i], x[i] = float32(i), float32(2*i+1)
			want[i] = float32(i) + 0.5*float32(2*i+1)
		}
		AddScaled(dst, 0.5, x)
		assert.Equal(t, want, dst, n)
	}
}
