package vecmath

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddSignedBits(t *testing.T) {
	t.Parallel()
	dst := make([]float32, 5)
	AddSignedBits(dst, 0b10110, 2)
	assert.Equal(t, []float32{2, -2, -2, 2, -2}, dst)
	assert.Panics(t, func() { AddSignedBits(make([]float32, 65), 0, 1) })
}

// TestSignCounter checks the bit-sliced sums against AddSignedBits.
func TestSignCounter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		dim, n int
	}{
		{"one lane", 1, 3},
		{"partial word", 37, 100},
		{"words", 256, 200},
		{"odd tail", 130, 1},
		{"more than 8 levels", 70, 700},
		{"full", 64, MaxSignCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(tt.dim), uint64(tt.n)))
			var c SignCounter
			c.Reset(tt.dim)
			words := make([]uint64, (tt.dim+63)/64)
			want := make([]float32, tt.dim)
			for range tt.n {
				for k := range words {
					words[k] = rng.Uint64()
					AddSignedBits(want[64*k:min(64*k+64, tt.dim)], words[k], 1)
				}
				c.Add(words)
			}
			require.Equal(t, tt.n, c.Len())
			got := make([]float32, tt.dim)
			got[0] = 10 // AddTo adds
			c.AddTo(got, 0.5)
			got[0] -= 10
			for i := range want {
				want[i] *= 0.5
			}
			assert.Equal(t, want, got)
			assert.Zero(t, c.Len(), "AddTo empties the counter")

			// Empty and reused.
			c.AddTo(got, 1)
			assert.Equal(t, want, got)
			c.Add(words)
			clear(got)
			c.AddTo(got, 1)
			for k, w := range words {
				for i := 64 * k; i < min(64*k+64, tt.dim); i++ {
					assert.Equal(t, float32(1-2*int(w>>(i-64*k)&1)), got[i])
				}
			}
		})
	}
	t.Run("full panics", func(t *testing.T) {
		t.Parallel()
		var c SignCounter
		c.Reset(1)
		for range MaxSignCount {
			c.Add([]uint64{1})
		}
		assert.Panics(t, func() { c.Add([]uint64{1}) })
	})
}

func BenchmarkSignCounter(b *testing.B) {
	var c SignCounter
	c.Reset(256)
	words := []uint64{0x0123456789abcdef, 0xfedcba9876543210, 0xdeadbeefcafebabe, 0x5555aaaa3333cccc}
	dst := make([]float32, 256)
	for b.Loop() {
		for i := range 150 {
			words[i&3] ^= uint64(i) * 0x9e3779b97f4a7c15
			c.Add(words)
		}
		c.AddTo(dst, 1)
	}
}
