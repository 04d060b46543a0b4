package vecmath

// The gradient step of a 2-D neighbour-preserving layout (UMAP-style).

// AttractRepel2D applies one stochastic-gradient step of a UMAP-style
// layout to the 2-D points y (x0, y0, x1, y1, …) for the edge (i, j): it
// pulls i and j together with the attractive gradient of
// 1/(1+a·d^(2b)) and moves i by rate times the clipped gradient (j too when
// moveJ). It returns nothing; callers loop over edges.
func AttractRepel2D(y []float32, i, j int, a, b, rate float32, attract, moveJ bool) {
	xi, yi := y[2*i], y[2*i+1]
	xj, yj := y[2*j], y[2*j+1]
	dx, dy := xi-xj, yi-yj
	d2 := dx*dx + dy*dy
	var g float32
	if attract {
		if d2 <= 0 {
			return
		}
		pw := Pow32(d2, b-1)
		g = -2 * a * b * pw / (a*pw*d2 + 1)
	} else {
		if d2 <= 0 {
			d2 = 0
		}
		g = 2 * b / ((0.001 + d2) * (a*Pow32(d2, b) + 1))
	}
	gx := clip4(g * dx)
	gy := clip4(g * dy)
	y[2*i] += rate * gx
	y[2*i+1] += rate * gy
	if moveJ {
		y[2*j] -= rate * gx
		y[2*j+1] -= rate * gy
	}
}

func clip4(v float32) float32 {
	if v > 4 {
		return 4
	}
	if v < -4 {
		return -4
	}
	return v
}
