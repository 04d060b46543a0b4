package vecmath

import "testing"

func TestAttractRepel2DMovesTheRightWay(t *testing.T) {
	t.Parallel()
	y := []float32{0, 0, 1, 0}
	AttractRepel2D(y, 0, 1, 1.58, 0.9, 0.1, true, true)
	if !(y[0] > 0 && y[2] < 1) {
		t.Fatalf("attraction did not pull the points together: %v", y)
	}
	y = []float32{0, 0, 1, 0}
	AttractRepel2D(y, 0, 1, 1.58, 0.9, 0.1, false, false)
	if !(y[0] < 0 && y[2] == 1) {
		t.Fatalf("repulsion did not push point 0 away alone: %v", y)
	}
}
