package local

// Deterministic hashing and pseudo-random streams shared by the encoders.
// These functions are part of the vector format: changing them changes every
// vector, so it requires a new model version ("/v2").

const golden = 0x9e3779b97f4a7c15

// mix64 is splitmix64's finaliser: a bijective scramble of x.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// splitmix is the splitmix64 generator: a 64-bit state stepped by golden.
type splitmix uint64

// next returns the next 64 random bits.
func (s *splitmix) next() uint64 {
	*s += golden
	return mix64(uint64(*s))
}

// FNV-1a constants (64-bit).
const (
	fnvOffset = 0xcbf29ce484222325
	fnvPrime  = 0x100000001b3
)

// hashRunes hashes runes as a feature of the given kind (so that the word
// "ab" and the character n-gram "ab" are different features).
func hashRunes(kind uint64, rs []rune) uint64 {
	h := uint64(fnvOffset) ^ kind
	for _, r := range rs {
		h ^= uint64(r)
		h *= fnvPrime
	}
	return mix64(h)
}

// hashPair hashes an ordered pair of feature hashes (a word bigram).
func hashPair(kind, a, b uint64) uint64 {
	return mix64(mix64(a^kind) + b*golden)
}
