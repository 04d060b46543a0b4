package vecmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPow32(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		x := float32(math.Exp(r.Float64()*40 - 20))
		p := float32(r.Float64()*4 - 2)
		want := math.Pow(float64(x), float64(p))
		if want > math.MaxFloat32/2 || want < 1e-37 {
			continue
		}
		got := float64(Pow32(x, p))
		if math.Abs(got-want) > 2e-5*want {
			t.Fatalf("Pow32(%v, %v) = %v, want %v", x, p, got, want)
		}
	}
	if Pow32(0, 0.5) != 0 || Pow32(-1, 2) != 0 {
		t.Fatal("Pow32 of x <= 0 must be 0")
	}
}

func BenchmarkPow32(b *testing.B) {
	x := float32(0.37)
	var s float32
	for b.Loop() {
		s += Pow32(x, 0.9)
	}
	_ = s
}
