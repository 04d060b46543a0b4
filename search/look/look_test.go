package look

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// plantRare appends a tight cluster of `size` items and `lone` isolated
// items far from the blobs, and returns their IDs.
func plantRare(r *rand.Rand, recs []index.Record, dim, size, lone int) ([]index.Record, []string) {
	var ids []string
	far := func(scale float64) []float64 {
		c := make([]float64, dim)
		for j := range c {
			c[j] = scale * r.NormFloat64()
		}
		return c
	}
	centre := far(1.5)
	for i := range size + lone {
		c := centre
		spread := 0.05
		if i >= size {
			c, spread = far(1.5), 0
		}
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(c[j] + spread*r.NormFloat64())
		}
		id := fmt.Sprintf("rare-%d", i)
		ids = append(ids, id)
		recs = append(recs, index.Record{ID: id, Vector: v, Metadata: index.Metadata{"label": "rare"}})
	}
	return recs, ids
}

func TestRarestFindsThePlantedRareItems(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 0))
	recs := blobs(5, 1500, 24, 6, 0.25)
	recs, planted := plantRare(r, recs, 24, 4, 3)
	for _, metric := range []index.Metric{index.Cosine, index.Euclidean} {
		store := opaque{newStore(t, metric, recs)}
		for _, via := range []string{"memory", "store", "ivf"} {
			t.Run(metric.String()+"/"+via, func(t *testing.T) {
				t.Parallel()
				sp, err := Load(context.Background(), store, "ns", WithMetric(metric))
				require.NoError(t, err)
				require.Equal(t, len(recs), sp.Len())
				opts := []Option{WithK(8), WithTop(10)}
				switch via {
				case "store":
					opts = append(opts, WithStoreQueries(), WithConcurrency(3))
				case "ivf":
					opts = append(opts, WithExactLimit(0))
				}
				rare, err := sp.Rarest(context.Background(), opts...)
				require.NoError(t, err)
				require.Len(t, rare, 10)
				var top []string
				for _, x := range rare {
					top = append(top, x.ID)
					require.Len(t, x.Neighbors, 8)
				}
				for _, id := range planted {
					assert.Contains(t, top[:len(planted)], id, "planted rare item not among the %d rarest: %v", len(planted), top)
				}
				for i := 1; i < len(rare); i++ {
					assert.GreaterOrEqual(t, rare[i-1].Score, rare[i].Score)
				}
			})
		}
	}
}

func TestStoreQueriesAgreeWithMemory(t *testing.T) {
	t.Parallel()
	recs := blobs(8, 400, 16, 4, 0.4)
	store := opaque{newStore(t, index.Cosine, recs)}
	sp, err := Load(context.Background(), store, "ns", WithFilter(index.Ne("label", "class-3")))
	require.NoError(t, err)
	require.Equal(t, 300, sp.Len())
	local, _, err := sp.Rarity(context.Background(), WithK(5))
	require.NoError(t, err)
	remote, g, err := sp.Rarity(context.Background(), WithK(5), WithStoreQueries())
	require.NoError(t, err)
	assert.Equal(t, "store", g.Method)
	for i := range local {
		assert.InDelta(t, local[i], remote[i], 1e-4, "item %s", sp.ids[i])
	}
	// The filter held for the neighbours too.
	for i := range sp.Len() {
		for _, nb := range g.neighbors(i) {
			require.GreaterOrEqual(t, nb.Index, 0, "neighbour %s outside the filtered space", nb.ID)
		}
	}
}

func TestIVFRecall(t *testing.T) {
	t.Parallel()
	recs := blobs(21, 6000, 32, 30, 0.5)
	sp, err := FromRecords(recs)
	require.NoError(t, err)
	exact, err := sp.Neighbors(context.Background(), WithK(10))
	require.NoError(t, err)
	approx, err := sp.Neighbors(context.Background(), WithK(10), WithExactLimit(0))
	require.NoError(t, err)
	require.Equal(t, "ivf", approx.Method)
	hit := 0
	for i := range sp.Len() {
		for _, w := range exact.index[i*10 : (i+1)*10] {
			if containsIdx(approx.index[i*10:(i+1)*10], w) {
				hit++
			}
		}
	}
	recall := float64(hit) / float64(sp.Len()*10)
	t.Logf("IVF recall@10 on 6,000 × 32-d: %.4f", recall)
	assert.Greater(t, recall, 0.9)
}

// dupWorld returns spread-out records with planted near-duplicate pairs
// (some exact copies), a "split" field, and the planted pairs.
func dupWorld(seed uint64, n, dim int) ([]index.Record, map[[2]string]bool) {
	r := rand.New(rand.NewPCG(seed, 3))
	var recs []index.Record
	for i := range n {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		split := "train"
		if i%4 == 0 {
			split = "test"
		}
		recs = append(recs, index.Record{ID: fmt.Sprintf("x%04d", i), Vector: v, Metadata: index.Metadata{"split": split}})
	}
	planted := map[[2]string]bool{}
	for p := range 8 {
		src := recs[r.IntN(n)]
		v := slices.Clone(src.Vector)
		if p%3 != 0 {
			for j := range v {
				v[j] += float32(0.01 * r.NormFloat64())
			}
		}
		split := "train"
		if p%2 == 0 {
			split = "test"
		}
		id := fmt.Sprintf("dup%d", p)
		recs = append(recs, index.Record{ID: id, Vector: v, Metadata: index.Metadata{"split": split}})
		planted[[2]string{min(src.ID, id), max(src.ID, id)}] = true
	}
	return recs, planted
}

func TestDuplicatesFindsExactlyThePlantedPairs(t *testing.T) {
	t.Parallel()
	const threshold = 0.002
	recs, planted := dupWorld(4, 2500, 32)
	// Nothing else is within the threshold: checked by brute force.
	brute := map[[2]string]bool{}
	for i := range recs {
		for j := i + 1; j < len(recs); j++ {
			if bruteDistance(index.Cosine, recs[i].Vector, recs[j].Vector) <= threshold {
				brute[[2]string{min(recs[i].ID, recs[j].ID), max(recs[i].ID, recs[j].ID)}] = true
			}
		}
	}
	require.Equal(t, planted, brute)
	store := opaque{newStore(t, index.Cosine, recs)}
	sp, err := Load(context.Background(), store, "ns")
	require.NoError(t, err)
	for _, name := range []string{"exact", "ivf"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var opts []Option
			if name == "ivf" {
				opts = append(opts, WithExactLimit(0))
			}
			got, err := sp.Duplicates(context.Background(), threshold, opts...)
			require.NoError(t, err)
			assert.Equal(t, name, got.Method)
			found := map[[2]string]bool{}
			for _, p := range got.Pairs {
				found[[2]string{min(p.A, p.B), max(p.A, p.B)}] = true
				assert.LessOrEqual(t, p.Distance, threshold)
				assert.InDelta(t, sp.distance(p.IndexA, p.IndexB), p.Distance, 1e-5)
			}
			assert.Equal(t, planted, found)
			assert.False(t, got.Truncated)

			leaks, err := sp.Duplicates(context.Background(), threshold, append(opts, WithAcross("split", "train", "test"))...)
			require.NoError(t, err)
			want := 0
			for p := range planted {
				a, b := sp.meta[slices.Index(sp.ids, p[0])]["split"], sp.meta[slices.Index(sp.ids, p[1])]["split"]
				if a != b {
					want++
				}
			}
			assert.Len(t, leaks.Pairs, want)
			for _, p := range leaks.Pairs {
				assert.Equal(t, "train", sp.meta[p.IndexA]["split"], p.String())
				assert.Equal(t, "test", sp.meta[p.IndexB]["split"], p.String())
				assert.True(t, planted[[2]string{min(p.A, p.B), max(p.A, p.B)}])
			}
		})
	}
}

func TestDuplicatesTruncatesToTheNearest(t *testing.T) {
	t.Parallel()
	recs, _ := dupWorld(5, 300, 8)
	sp, err := FromRecords(recs, WithMetric(index.Euclidean))
	require.NoError(t, err)
	all, err := sp.Duplicates(context.Background(), 100)
	require.NoError(t, err)
	require.Len(t, all.Pairs, len(recs)*(len(recs)-1)/2)
	cut, err := sp.Duplicates(context.Background(), 100, WithMaxPairs(50))
	require.NoError(t, err)
	assert.True(t, cut.Truncated)
	assert.Equal(t, all.Pairs[:50], cut.Pairs)
}

func TestErrorClustersRankThePlantedFailureFirst(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(6, 6))
	recs := blobs(6, 1600, 20, 8, 0.3)
	bad := map[string]bool{}
	for i := range recs {
		label := recs[i].Metadata["label"].(string)
		pred := label
		switch {
		case label == "class-3" && r.Float64() < 0.6:
			pred = "class-5"
			bad[recs[i].ID] = true
		case r.Float64() < 0.05:
			pred = "class-0"
		}
		recs[i].Metadata["pred"] = pred
	}
	store := opaque{newStore(t, index.Cosine, recs)}
	sp, err := Load(context.Background(), store, "ns")
	require.NoError(t, err)
	clusters, err := sp.ErrorClusters(context.Background(), "pred", "label", WithClusters(8), WithRepresentatives(4))
	require.NoError(t, err)
	require.NotEmpty(t, clusters)
	top := clusters[0]
	inClass3 := 0
	for _, m := range top.Members {
		if sp.meta[m]["label"] == "class-3" {
			inClass3++
		}
	}
	assert.Greater(t, float64(inClass3)/float64(top.Size), 0.9, "top cluster is not the planted region: %+v", top.Confusions)
	assert.Greater(t, top.ErrorRate, 0.45)
	require.Len(t, top.Representatives, 4)
	for _, id := range top.Representatives {
		assert.True(t, bad[id], "representative %s is not a planted error", id)
	}
	assert.Equal(t, Confusion{Label: "class-3", Predicted: "class-5", Count: top.Confusions[0].Count}, top.Confusions[0])
	total := 0
	for i, c := range clusters {
		total += c.Size
		if i > 0 {
			assert.GreaterOrEqual(t, clusters[i-1].Score, c.Score)
		}
	}
	assert.Equal(t, len(recs), total)
}

func TestWilsonLowerCombinesRateAndSize(t *testing.T) {
	t.Parallel()
	assert.Less(t, wilsonLower(2, 2), wilsonLower(40, 50))
	assert.Less(t, wilsonLower(5, 100), wilsonLower(50, 100))
	assert.InDelta(t, 0.342, wilsonLower(2, 2), 0.001)
	assert.Equal(t, 0.0, wilsonLower(0, 10))
}

func TestMapKeepsNeighbourhoods(t *testing.T) {
	t.Parallel()
	recs := blobs(2, 1200, 40, 8, 0.35)
	sp, err := FromRecords(recs)
	require.NoError(t, err)
	for _, tc := range []struct {
		method Method
		minT   float64
	}{{PCA, 0.80}, {Neighborhood, 0.90}} {
		t.Run(tc.method.String(), func(t *testing.T) {
			t.Parallel()
			m, err := sp.Map(context.Background(), tc.method)
			require.NoError(t, err)
			require.Len(t, m.Points, len(recs))
			q, err := m.Quality(context.Background(), 10)
			require.NoError(t, err)
			t.Logf("%v: trustworthiness %.3f, 10-NN preservation %.3f", tc.method, q.Trustworthiness, q.KNNPreservation)
			assert.Greater(t, q.Trustworthiness, tc.minT)
			again, err := sp.Map(context.Background(), tc.method)
			require.NoError(t, err)
			assert.Equal(t, m.Points, again.Points, "not deterministic")
		})
	}
}

func TestQualityOfAPerfectMap(t *testing.T) {
	t.Parallel()
	// 2-D data under Euclidean: PCA is a rotation, so every neighbourhood
	// is kept.
	r := rand.New(rand.NewPCG(1, 1))
	var recs []index.Record
	for i := range 300 {
		recs = append(recs, index.Record{ID: fmt.Sprint(i), Vector: []float32{float32(r.NormFloat64() * 3), float32(r.NormFloat64())}})
	}
	sp, err := FromRecords(recs, WithMetric(index.Euclidean))
	require.NoError(t, err)
	m, err := sp.Map(context.Background(), PCA)
	require.NoError(t, err)
	q, err := m.Quality(context.Background(), 7)
	require.NoError(t, err)
	assert.InDelta(t, 1, q.Trustworthiness, 1e-9)
	assert.InDelta(t, 1, q.KNNPreservation, 1e-9)
	assert.InDelta(t, 1, m.Explained[0]+m.Explained[1], 1e-4)
	// A random map is far from perfect.
	for i := range m.y {
		m.y[i] = float32(r.NormFloat64())
	}
	q, err = m.Quality(context.Background(), 7)
	require.NoError(t, err)
	assert.Less(t, q.Trustworthiness, 0.6)
}

func TestLoadSamplesLargePools(t *testing.T) {
	t.Parallel()
	recs := blobs(3, 1000, 8, 5, 0.3)
	store := opaque{newStore(t, index.Euclidean, recs)}
	sp, err := Load(context.Background(), store, "ns", WithMaxItems(100), WithSeed(7), WithFields())
	require.NoError(t, err)
	assert.Equal(t, 100, sp.Len())
	assert.Equal(t, 1000, sp.Total())
	assert.Nil(t, sp.meta[0])
	again, err := Load(context.Background(), store, "ns", WithMaxItems(100), WithSeed(7))
	require.NoError(t, err)
	assert.Equal(t, sp.ids, again.ids)
	// Uniform: the sample reaches the end of the scan, not only its start.
	late := 0
	for _, id := range sp.ids {
		if id >= "item-00500" {
			late++
		}
	}
	assert.InDelta(t, 50, late, 20)
	// The map of a larger space is sampled too.
	full, err := Load(context.Background(), store, "ns")
	require.NoError(t, err)
	m, err := full.Map(context.Background(), PCA, WithMapPoints(200))
	require.NoError(t, err)
	assert.Len(t, m.Points, 200)
	assert.Equal(t, 1000, m.Total)
}

func TestLoadLearnsTheMetric(t *testing.T) {
	t.Parallel()
	recs := blobs(3, 50, 4, 2, 0.3)
	s := newStore(t, index.Euclidean, recs)
	sp, err := Load(context.Background(), s, "ns")
	require.NoError(t, err)
	assert.Equal(t, index.Euclidean, sp.Metric())
	sp, err = Load(context.Background(), opaque{s}, "ns")
	require.NoError(t, err)
	assert.Equal(t, index.Cosine, sp.Metric(), "a store that hides its metric is assumed cosine")
	sp, err = Load(context.Background(), opaque{s}, "ns", WithMetric(index.Euclidean))
	require.NoError(t, err)
	assert.Equal(t, index.Euclidean, sp.Metric())

	// An explicit metric that contradicts the store's is an error.
	_, err = Load(context.Background(), s, "ns", WithMetric(index.Cosine))
	assert.ErrorIs(t, err, ErrInvalidOption)
	assert.EqualError(t, err, "look: WithMetric(cosine) contradicts the store's metric euclidean")
}

// An option given to a call that does not read it is an error naming both,
// never silently ignored.
func TestOptionsThatDoNotApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recs := blobs(3, 30, 4, 2, 0.3)
	store := newStore(t, index.Cosine, recs)
	sp, err := FromRecords(recs)
	require.NoError(t, err)
	m, err := sp.Map(ctx, PCA)
	require.NoError(t, err)
	for _, tc := range []struct {
		call func() error
		text string
	}{
		{func() error { _, err := Load(ctx, store, "ns", WithK(3)); return err }, "look: WithK does not apply to Load"},
		{func() error { _, err := FromRecords(recs, WithFilter(index.Eq("a", 1))); return err }, "look: WithFilter does not apply to FromRecords"},
		{func() error { _, err := FromRecords(recs, WithSeed(2)); return err }, "look: WithSeed does not apply to FromRecords"},
		{func() error { _, err := sp.Neighbors(ctx, WithTop(3)); return err }, "look: WithTop does not apply to Space.Neighbors"},
		{func() error { _, _, err := sp.Rarity(ctx, WithMaxPairs(3)); return err }, "look: WithMaxPairs does not apply to Space.Rarity"},
		{func() error { _, err := sp.Rarest(ctx, WithMetric(index.Cosine)); return err }, "look: WithMetric does not apply to Space.Rarest"},
		{func() error { _, err := sp.Duplicates(ctx, 0.1, WithK(3)); return err }, "look: WithK does not apply to Space.Duplicates"},
		{func() error { _, err := sp.ErrorClusters(ctx, "pred", "label", WithExactLimit(3)); return err }, "look: WithExactLimit does not apply to Space.ErrorClusters"},
		{func() error { _, err := sp.Map(ctx, PCA, WithStoreQueries()); return err }, "look: WithStoreQueries does not apply to Space.Map"},
		{func() error { _, err := sp.Map(ctx, PCA, WithFields("label")); return err }, "look: WithFields does not apply to Space.Map"},
		{func() error { return m.WritePNG(&bytes.Buffer{}, WithThumbnails(func(string) string { return "" })) }, "look: WithThumbnails does not apply to Map.WritePNG"},
		{func() error { _, err := Load(ctx, store, "ns", WithFilter(index.Eq("label", []int{1}))); return err },
			`look: WithFilter: invalid filter: eq "label": value of type []int (want string, bool or number)`},
	} {
		err := tc.call()
		assert.ErrorIs(t, err, ErrInvalidOption, tc.text)
		assert.ErrorIs(t, err, index.ErrInvalidArgument, tc.text)
		assert.EqualError(t, err, tc.text)
	}
}

// Bad arguments are errors wrapping index.ErrInvalidArgument, never panics.
func TestBadArguments(t *testing.T) {
	t.Parallel()
	recs := blobs(3, 30, 4, 2, 0.3)
	store := newStore(t, index.Cosine, recs)
	sp, err := FromRecords(recs)
	require.NoError(t, err)
	m, err := sp.Map(context.Background(), PCA)
	require.NoError(t, err)
	g, err := sp.Neighbors(context.Background(), WithK(3))
	require.NoError(t, err)
	var nilCtx context.Context
	n := sp.Len()
	for _, tc := range []struct {
		name string
		call func() error
		text string
	}{
		{"Load nil context", func() error { _, err := Load(nilCtx, store, "ns"); return err }, "look: Load: nil context"},
		{"Load nil store", func() error { _, err := Load(context.Background(), nil, "ns"); return err }, "look: Load: nil store"},
		{"Neighbors nil context", func() error { _, err := sp.Neighbors(nilCtx); return err }, "look: Space.Neighbors: nil context"},
		{"Rarity nil context", func() error { _, _, err := sp.Rarity(nilCtx); return err }, "look: Space.Rarity: nil context"},
		{"Rarest nil context", func() error { _, err := sp.Rarest(nilCtx); return err }, "look: Space.Rarest: nil context"},
		{"Duplicates nil context", func() error { _, err := sp.Duplicates(nilCtx, 0.1); return err }, "look: Space.Duplicates: nil context"},
		{"ErrorClusters nil context", func() error { _, err := sp.ErrorClusters(nilCtx, "pred", "label"); return err }, "look: Space.ErrorClusters: nil context"},
		{"Map nil context", func() error { _, err := sp.Map(nilCtx, PCA); return err }, "look: Space.Map: nil context"},
		{"Quality nil context", func() error { _, err := m.Quality(nilCtx, 3); return err }, "look: Map.Quality: nil context"},
		{"Item -1", func() error { _, err := sp.Item(-1); return err }, fmt.Sprintf("look: Space.Item: item -1 out of range [0, %d)", n)},
		{"Item Len", func() error { _, err := sp.Item(n); return err }, fmt.Sprintf("look: Space.Item: item %d out of range", n)},
		{"Distance -1", func() error { _, err := sp.Distance(0, -1); return err }, "look: Space.Distance: item -1 out of range"},
		{"Distance Len", func() error { _, err := sp.Distance(n, 0); return err }, "look: Space.Distance: item"},
		{"Graph.Neighbors -1", func() error { _, err := g.Neighbors(-1); return err }, "look: Graph.Neighbors: item -1 out of range"},
		{"Graph.Neighbors Len", func() error { _, err := g.Neighbors(n); return err }, "look: Graph.Neighbors: item"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tc.call() })
			assert.ErrorIs(t, err, index.ErrInvalidArgument)
			assert.ErrorContains(t, err, tc.text)
		})
	}
	it, err := sp.Item(1)
	require.NoError(t, err)
	assert.Equal(t, Item{Index: 1, ID: recs[1].ID, Vector: sp.vec(1), Metadata: recs[1].Metadata}, it)
	d, err := sp.Distance(0, 0)
	require.NoError(t, err)
	assert.InDelta(t, 0, d, 1e-6)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recs := blobs(3, 30, 4, 2, 0.3)
	sp, err := FromRecords(recs)
	require.NoError(t, err)
	for name, err := range map[string]error{
		"k":         func() error { _, err := sp.Rarest(ctx, WithK(0)); return err }(),
		"weights":   func() error { _, err := sp.Rarest(ctx, WithWeights(1, math.NaN())); return err }(),
		"threshold": func() error { _, err := sp.Duplicates(ctx, -1); return err }(),
		"across":    func() error { _, err := sp.Duplicates(ctx, 0.1, WithAcross("", 1, 2)); return err }(),
		"method":    func() error { _, err := sp.Map(ctx, Method(9)); return err }(),
		"fields":    func() error { _, err := sp.ErrorClusters(ctx, "", "label"); return err }(),
		"filter": func() error {
			_, err := Load(ctx, opaque{newStore(t, index.Cosine, recs)}, "ns", WithFilter(index.Filter{Op: 99}))
			return err
		}(),
		"nil store": func() error { _, err := Load(ctx, nil, "ns"); return err }(),
		"size":      func() error { m, _ := sp.Map(ctx, PCA); return m.WritePNG(&bytes.Buffer{}, WithSize(10, 10)) }(),
		"thumbnail": func() error {
			m, _ := sp.Map(ctx, PCA)
			return m.WriteHTML(&bytes.Buffer{}, WithThumbnails(func(string) string { return "https://x/y.png" }))
		}(),
		"no store":   func() error { _, err := sp.Rarest(ctx, WithStoreQueries()); return err }(),
		"concurrent": func() error { _, err := sp.Rarest(ctx, WithConcurrency(0)); return err }(),
	} {
		assert.ErrorIs(t, err, index.ErrInvalidArgument, name)
	}
	_, err = sp.Rarest(ctx, WithK(30))
	assert.ErrorIs(t, err, ErrTooFew)
	_, err = sp.ErrorClusters(ctx, "pred", "label")
	assert.ErrorIs(t, err, ErrTooFew)

	_, err = FromRecords([]index.Record{{ID: "a", Vector: []float32{1, 2}}, {ID: "b", Vector: []float32{1}}})
	var ie *index.ItemError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "b", ie.ID)
	assert.ErrorIs(t, err, index.ErrDimension)
	_, err = FromRecords([]index.Record{{ID: "a", Vector: []float32{0, 0}}})
	assert.ErrorIs(t, err, index.ErrInvalidVector)
	_, err = FromRecords([]index.Record{{ID: "a", Vector: []float32{float32(math.Inf(1)), 0}}})
	assert.ErrorIs(t, err, index.ErrInvalidVector)
	_, err = FromRecords([]index.Record{{ID: "a", Vector: []float32{1}}, {ID: "a", Vector: []float32{1}}})
	assert.ErrorIs(t, err, index.ErrInvalidID)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	big, err := FromRecords(blobs(1, 3000, 8, 3, 0.3))
	require.NoError(t, err)
	_, err = big.Rarest(cancelled)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = big.Duplicates(cancelled, 0.1)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = Load(cancelled, opaque{newStore(t, index.Cosine, recs)}, "ns")
	assert.ErrorIs(t, err, context.Canceled)
}

// failingStore fails every Query.
type failingStore struct{ opaque }

var errBoom = errors.New("boom")

func (f failingStore) Query(context.Context, index.Query) ([]index.Match, error) {
	return nil, driver.Temporary(errBoom, 0)
}

func TestStoreErrorsKeepTheCause(t *testing.T) {
	t.Parallel()
	recs := blobs(3, 40, 4, 2, 0.3)
	sp, err := Load(context.Background(), failingStore{opaque{newStore(t, index.Cosine, recs)}}, "ns")
	require.NoError(t, err)
	_, err = sp.Rarest(context.Background(), WithStoreQueries())
	require.ErrorIs(t, err, errBoom)
	assert.True(t, index.IsRetryable(err))
	assert.Contains(t, err.Error(), "item-")
}

func TestPictures(t *testing.T) {
	t.Parallel()
	recs := blobs(2, 300, 10, 25, 0.3) // 25 classes: more than the palette
	for i := range recs {
		recs[i].Metadata["score"] = float64(i) / 7
	}
	recs[0].ID = `</script><script>alert(1)</script>`
	sp, err := FromRecords(recs)
	require.NoError(t, err)
	m, err := sp.Map(context.Background(), PCA)
	require.NoError(t, err)
	for _, field := range []string{"label", "score", ""} {
		var buf bytes.Buffer
		require.NoError(t, m.WritePNG(&buf, WithColorBy(field), WithSize(640, 480), WithHighlight(recs[1].ID)))
		img, err := png.Decode(&buf)
		require.NoError(t, err)
		assert.Equal(t, 640, img.Bounds().Dx())
		assert.Equal(t, 480, img.Bounds().Dy())
	}
	var page bytes.Buffer
	thumb := "data:image/png;base64,iVBORw0KGgo="
	require.NoError(t, m.WriteHTML(&page, WithColorBy("score"), WithThumbnails(func(id string) string {
		if id == recs[2].ID {
			return thumb
		}
		return ""
	})))
	html := page.String()
	assert.NotContains(t, html, "</script><script>alert", "the ID must not appear unescaped")
	assert.Contains(t, html, `\u003c/script\u003e\u003cscript\u003ealert(1)`)
	assert.NotContains(t, strings.ReplaceAll(html, "http-equiv", ""), "http")
	assert.Contains(t, html, thumb)
	assert.Contains(t, html, `"fields":["label","score"]`)
	assert.Contains(t, html, `"colorBy":"score"`)
}

func TestGroupsFor(t *testing.T) {
	t.Parallel()
	var pts []Point
	for i := range 50 {
		md := index.Metadata{"c": fmt.Sprintf("v%02d", i%25), "x": float64(i)}
		if i == 3 {
			delete(md, "c")
		}
		pts = append(pts, Point{ID: fmt.Sprint(i), Metadata: md})
	}
	gs := groupsFor(pts, "c")
	assert.Len(t, gs, 21) // 19 values, "others", "(none)"
	assert.Equal(t, "(none)", gs[len(gs)-1].Name)
	assert.Equal(t, "6 others", gs[len(gs)-2].Name)
	n := 0
	for _, g := range gs {
		n += len(g.Points)
	}
	assert.Equal(t, 50, n)
	num := groupsFor(pts, "x")
	assert.Len(t, num, 8)
	assert.Equal(t, viridis[0], num[0].Color)
}

// FuzzWriteHTML checks that any IDs and metadata come back intact from the
// page's embedded data and never break out of its script element.
func FuzzWriteHTML(f *testing.F) {
	f.Add("a", "label", "</script><b>x")
	f.Add("é\u2028", "<!--", "&amp;")
	f.Fuzz(func(t *testing.T, id, key, value string) {
		if driver.ValidateID(id+"-0") != nil || key == "" || key[0] == '$' || !utf8.ValidString(key) || !utf8.ValidString(value) {
			return
		}
		var recs []index.Record
		for i := range 4 {
			recs = append(recs, index.Record{ID: fmt.Sprintf("%s-%d", id, i), Vector: []float32{float32(i), 1, float32(i * i)}, Metadata: index.Metadata{key: value}})
		}
		sp, err := FromRecords(recs)
		require.NoError(t, err)
		m, err := sp.Map(context.Background(), PCA)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, m.WriteHTML(&buf, WithTitle(value)))
		page := buf.String()
		const open = `<script type="application/json" id="data">`
		start := strings.Index(page, open)
		require.GreaterOrEqual(t, start, 0)
		rest := page[start+len(open):]
		end := strings.Index(strings.ToLower(rest), "</script")
		require.GreaterOrEqual(t, end, 0)
		var d htmlData
		require.NoError(t, json.Unmarshal([]byte(rest[:end]), &d), "the data must end at the script's own closing tag")
		require.Len(t, d.Points, 4)
		for i, p := range d.Points {
			assert.Equal(t, recs[i].ID, p.ID)
			assert.Equal(t, value, p.Meta[key])
		}
		assert.NotContains(t, strings.ToLower(page[:start]), "<script", "the title must be escaped")
	})
}
