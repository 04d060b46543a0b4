package vecmath

// Sums of ±1 vectors given as sign bits: the inner loops of random
// projections whose columns are generated from random bits.

import "math"

// AddSignedBits adds ±w to each element of dst (at most 64 elements): +w
// where bit i of bits is 0, -w where it is 1. It is the inner loop of a
// ±1 random projection whose columns are generated from random bits.
func AddSignedBits(dst []float32, bits uint64, w float32) {
	if len(dst) > 64 {
		panic("vecmath: AddSignedBits takes at most 64 elements")
	}
	wb := math.Float32bits(w)
	for i := range dst {
		// Flip w's sign bit with bit i: branch-free.
		dst[i] += math.Float32frombits(wb ^ uint32(bits>>uint(i)&1)<<31)
	}
}

// SignCounter sums many ±1 vectors given as sign bits (bit set = -1), 64
// lanes per uint64 word, with bit-sliced counters: adding a vector costs a
// few word operations per 64 lanes instead of 64 float additions. It is the
// text encoder's projection: every feature of equal weight adds its ±1
// column, and the sum is scaled once. The zero value is not usable; call
// Reset.
type SignCounter struct {
	dim, words int
	n          int      // vectors added since the last AddTo
	planes     []uint64 // bit plane l of word k at l*words+k
}

// signLevels bounds the count per lane: 2^signLevels - 1 vectors.
const signLevels = 16

// MaxSignCount is the number of vectors a [SignCounter] holds before AddTo
// must empty it.
const MaxSignCount = 1<<signLevels - 1

// Reset empties c and sets its dimension.
func (c *SignCounter) Reset(dim int) {
	c.dim, c.words, c.n = dim, (dim+63)/64, 0
	if need := signLevels * c.words; cap(c.planes) < need {
		c.planes = make([]uint64, need)
	} else {
		c.planes = c.planes[:need]
		clear(c.planes)
	}
}

// Len returns the number of vectors added since the last AddTo.
func (c *SignCounter) Len() int { return c.n }

// Add adds one vector: words[k] holds the signs of lanes 64k to 64k+63
// (len(words) = ceil(dim/64); bits past dim are ignored). It panics if c
// already holds MaxSignCount vectors.
func (c *SignCounter) Add(words []uint64) {
	if c.n >= MaxSignCount {
		panic("vecmath: SignCounter full")
	}
	c.n++
	words = words[:c.words]
	for k, carry := range words {
		// Ripple-carry add of one bit per lane into the bit planes.
		for p := k; carry != 0; p += c.words {
			t := c.planes[p] & carry
			c.planes[p] ^= carry
			carry = t
		}
	}
}

// spread8 maps a byte b to a word whose byte i is bit i of b, so that eight
// lanes' bits of one plane are gathered with one lookup.
var spread8 = func() (t [256]uint64) {
	for b := range t {
		for i := range 8 {
			t[b] |= uint64(b>>i&1) << (8 * i)
		}
	}
	return t
}()

// AddTo adds w times the sum of the vectors to dst (len(dst) = dim): each
// lane gets w·(n - 2·count), count being the vectors with its bit set. It
// then empties c.
func (c *SignCounter) AddTo(dst []float32, w float32) {
	if c.n == 0 {
		return
	}
	dst = dst[:c.dim]
	levels := 0
	for n := c.n; n > 0; n >>= 1 {
		levels++
	}
	for k := range c.words {
		lanes := dst[64*k : min(64*k+64, c.dim)]
		for g := 0; g < len(lanes); g += 8 {
			// Counts of 8 lanes, one per byte: bits 0-7 in lo, 8-15 in hi.
			var lo, hi uint64
			for l := range min(levels, 8) {
				lo += spread8[byte(c.planes[l*c.words+k]>>uint(g))] << l
			}
			for l := 8; l < levels; l++ {
				hi += spread8[byte(c.planes[l*c.words+k]>>uint(g))] << (l - 8)
			}
			for i, x := range lanes[g:min(g+8, len(lanes))] {
				cnt := int(lo>>(8*i)&0xff) | int(hi>>(8*i)&0xff)<<8
				lanes[g+i] = x + w*float32(c.n-2*cnt)
			}
		}
	}
	clear(c.planes[:levels*c.words])
	c.n = 0
}
