package finetune

import (
	"math/rand/v2"
	"slices"
)

// sampler draws class-balanced batches: P labels, and K examples of each.
// Labels are taken in a shuffled round-robin, examples of a label in a
// shuffled round-robin of their own, so every example is seen about equally
// often and small labels as often as large ones.
type sampler struct {
	rng     *rand.Rand
	p, k    int
	classes [][]int // example indices per label with examples
	pos     []int   // next position in each label's order
	order   []int   // label order
	next    int     // next position in order
}

func newSampler(labels []int32, classes, p, k int, rng *rand.Rand) *sampler {
	byClass := make([][]int, classes)
	for i, l := range labels {
		byClass[l] = append(byClass[l], i)
	}
	s := &sampler{rng: rng, k: k}
	for _, idx := range byClass {
		if len(idx) > 0 {
			s.classes = append(s.classes, idx)
		}
	}
	s.p = min(p, len(s.classes))
	s.pos = make([]int, len(s.classes))
	for c := range s.classes {
		s.shuffle(s.classes[c])
	}
	s.order = make([]int, len(s.classes))
	for i := range s.order {
		s.order[i] = i
	}
	s.shuffle(s.order)
	return s
}

func (s *sampler) shuffle(x []int) {
	s.rng.Shuffle(len(x), func(i, j int) { x[i], x[j] = x[j], x[i] })
}

// batchSize is the largest number of examples in a batch.
func (s *sampler) batchSize() int { return s.p * s.k }

// batches is the number of batches in an epoch: enough to draw about as many
// examples as there are.
func (s *sampler) batches(n int) int {
	return max(1, (n+s.batchSize()-1)/s.batchSize())
}

// batch appends the indices of the next batch's examples to dst[:0].
func (s *sampler) batch(dst []int) []int {
	dst = dst[:0]
	chosen := make([]int, 0, s.p)
	for len(chosen) < s.p {
		if s.next == len(s.order) {
			s.shuffle(s.order)
			s.next = 0
		}
		c := s.order[s.next]
		s.next++
		if slices.Contains(chosen, c) {
			continue
		}
		chosen = append(chosen, c)
		idx := s.classes[c]
		take, start := min(s.k, len(idx)), len(dst)
		for len(dst)-start < take {
			if s.pos[c] == len(idx) {
				s.shuffle(idx)
				s.pos[c] = 0
			}
			i := idx[s.pos[c]]
			s.pos[c]++
			if !slices.Contains(dst[start:], i) { // after a reshuffle
				dst = append(dst, i)
			}
		}
	}
	return dst
}
