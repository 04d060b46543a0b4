package look

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Cluster is one region of the space with its model errors, from
// [Space.ErrorClusters].
type Cluster struct {
	// Size is the number of items in the cluster (those with both fields).
	Size int
	// Errors is how many of them the model got wrong (prediction ≠ label).
	Errors int
	// ErrorRate is Errors / Size.
	ErrorRate float64
	// Score ranks the clusters: the lower bound of the 95% Wilson score
	// interval of the error rate. It combines rate and size: a cluster is
	// ranked high when its error rate is high and there are enough items
	// to trust it, so 2 errors out of 2 (0.34) rank below 40 out of 50
	// (0.67).
	Score float64
	// Excess is the number of errors beyond what the overall error rate
	// predicts for a cluster of this size: Errors − Size·overall rate.
	Excess float64
	// Representatives are the IDs of the cluster's misclassified items
	// nearest its centroid (then correct ones, when it has too few errors),
	// at most [WithRepresentatives].
	Representatives []string
	// Confusions are the cluster's most frequent (label, prediction)
	// errors, most frequent first, at most five.
	Confusions []Confusion
	// Members are the cluster's items (indices into the space).
	Members []int
}

// Confusion is one kind of error and how often it occurs.
type Confusion struct {
	Label, Predicted string
	Count            int
}

// ErrorClusters clusters the items that have both metadata fields —
// the model's prediction and the true label — with k-means (k-means++
// start, seeded, [WithClusters] clusters) and returns the clusters ranked
// by [Cluster.Score], the Wilson lower bound of their error rate: the
// regions where the model fails, worst first, with a few representative
// IDs each. Values are compared as text (fmt's %v), so a label stored as
// an int64 and a prediction stored as a float64 match when they print
// alike.
//
// Options: WithClusters, WithRepresentatives, WithSeed, WithConcurrency;
// any other is an error.
func (sp *Space) ErrorClusters(ctx context.Context, predictionField, labelField string, opts ...Option) ([]Cluster, error) {
	if ctx == nil {
		return nil, errorf(index.ErrInvalidArgument, "Space.ErrorClusters: nil context")
	}
	if predictionField == "" || labelField == "" {
		return nil, errorf(ErrInvalidOption, "Space.ErrorClusters: empty prediction or label field")
	}
	c, err := newConfig(callErrorClusters, opts)
	if err != nil {
		return nil, err
	}
	var items []int32
	var labels, preds []string
	for i, md := range sp.meta {
		p, okP := md[predictionField]
		l, okL := md[labelField]
		if !okP || !okL {
			continue
		}
		items = append(items, int32(i))
		preds = append(preds, fmt.Sprint(p))
		labels = append(labels, fmt.Sprint(l))
	}
	n, d := len(items), sp.dim
	if n < 2 {
		return nil, errorf(nil, "%w: %d items have both %q and %q", ErrTooFew, n, predictionField, labelField)
	}
	k := c.clusters
	if k == 0 {
		k = max(2, min(100, int(math.Round(math.Sqrt(float64(n)/2)))))
	}
	k = min(k, n)
	x := scaledRows(make([]float32, 0, n*d), sp.vecs, d, items, 0, 0, 1)
	cent, assign, err := kmeans(ctx, c.concurrency, x, n, d, k, 50, c.seed, true)
	if err != nil {
		return nil, err
	}
	wrong := 0
	for i := range n {
		if preds[i] != labels[i] {
			wrong++
		}
	}
	overall := float64(wrong) / float64(n)
	clusters := make([]Cluster, k)
	confusions := make([]map[[2]string]int, k)
	for i := range n {
		a := assign[i]
		cl := &clusters[a]
		cl.Size++
		cl.Members = append(cl.Members, int(items[i]))
		if preds[i] != labels[i] {
			cl.Errors++
			if confusions[a] == nil {
				confusions[a] = map[[2]string]int{}
			}
			confusions[a][[2]string{labels[i], preds[i]}]++
		}
	}
	var out []Cluster
	for j := range k {
		cl := clusters[j]
		if cl.Size == 0 {
			continue
		}
		cl.ErrorRate = float64(cl.Errors) / float64(cl.Size)
		cl.Score = wilsonLower(cl.Errors, cl.Size)
		cl.Excess = float64(cl.Errors) - float64(cl.Size)*overall
		for lp, cnt := range confusions[j] {
			cl.Confusions = append(cl.Confusions, Confusion{Label: lp[0], Predicted: lp[1], Count: cnt})
		}
		slices.SortFunc(cl.Confusions, func(a, b Confusion) int {
			if c := cmp.Compare(b.Count, a.Count); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Label, b.Label); c != 0 {
				return c
			}
			return cmp.Compare(a.Predicted, b.Predicted)
		})
		cl.Confusions = cl.Confusions[:min(5, len(cl.Confusions))]
		// Representatives: errors nearest the centroid first.
		centroid := cent[j*d : (j+1)*d]
		type cand struct {
			i     int
			wrong bool
			dist  float32
		}
		var cands []cand
		for i := range n {
			if int(assign[i]) == j {
				cands = append(cands, cand{int(items[i]), preds[i] != labels[i], vecmath.SquaredL2(x[i*d:(i+1)*d], centroid)})
			}
		}
		slices.SortFunc(cands, func(a, b cand) int {
			if a.wrong != b.wrong {
				if a.wrong {
					return -1
				}
				return 1
			}
			if c := cmp.Compare(a.dist, b.dist); c != 0 {
				return c
			}
			return cmp.Compare(sp.ids[a.i], sp.ids[b.i])
		})
		for _, cd := range cands[:min(c.reps, len(cands))] {
			cl.Representatives = append(cl.Representatives, sp.ids[cd.i])
		}
		out = append(out, cl)
	}
	slices.SortStableFunc(out, func(a, b Cluster) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(b.Errors, a.Errors)
	})
	return out, nil
}

// wilsonLower is the lower bound of the 95% Wilson score interval of the
// proportion errors/size.
func wilsonLower(errors, size int) float64 {
	if size == 0 {
		return 0
	}
	const z = 1.959963984540054
	n := float64(size)
	p := float64(errors) / n
	den := 1 + z*z/n
	centre := p + z*z/(2*n)
	margin := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n))
	return max(0, (centre-margin)/den)
}
