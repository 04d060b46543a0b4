package vecmath

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAddRowVectorAndColumnSums(t *testing.T) {
	t.Parallel()
	m := []float32{1, 2, 3, 4, 0, 0}
	AddRowVector(m, []float32{10, 20})
	assert.Equal(t, []float32{11, 22, 13, 24, 10, 20}, m)
	sums := []float32{1, 1}
	AddColumnSums(sums, m)
	assert.Equal(t, []float32{35, 67}, sums)
}
