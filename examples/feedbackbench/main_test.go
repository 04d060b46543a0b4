package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/examples/internal/dataset"
	"github.com/shoalhq/shoal/feedback"
)

func defaults() config {
	return config{
		data: sampleData, seeds: 1, rounds: 3, k: 20, bucket: 5, reranker: "logistic", l2: feedback.DefaultL2,
		guard: true, margin: feedback.DefaultGuardMargin, candidates: feedback.DefaultCandidates,
		scan: feedback.DefaultScanThreshold, background: feedback.DefaultBackground, agg: "mean",
		neighbors: feedback.DefaultNeighbors,
	}
}

// writeFolder writes a labeled folder of 28×28 images of three classes:
// a bright bar that is horizontal ("bar-h") or vertical ("bar-v") at a
// random place, and a bright square ("square"), on noise.
func writeFolder(t *testing.T, perClass int) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	var csv strings.Builder
	csv.WriteString("path,label\n")
	for _, label := range []string{"bar-h", "bar-v", "square"} {
		for i := range perClass {
			img := image.NewGray(image.Rect(0, 0, 28, 28))
			for p := range img.Pix {
				img.Pix[p] = uint8(r.IntN(60))
			}
			x0, y0 := r.IntN(18), r.IntN(18)
			w, h := 10, 10
			switch label {
			case "bar-h":
				h = 3
			case "bar-v":
				w = 3
			}
			for y := y0; y < y0+h; y++ {
				for x := x0; x < x0+w; x++ {
					img.SetGray(x, y, color.Gray{Y: uint8(180 + r.IntN(75))})
				}
			}
			var buf bytes.Buffer
			require.NoError(t, png.Encode(&buf, img))
			name := fmt.Sprintf("%s-%03d.png", label, i)
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644))
			fmt.Fprintf(&csv, "%s,%s\n", name, label)
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv.String()), 0o644))
	return dir
}

// TestFolder runs the protocol on a generated labeled folder: the command
// works end to end on a user's images.
func TestFolder(t *testing.T) {
	t.Parallel()
	cfg := defaults()
	cfg.data, cfg.seeds, cfg.rounds, cfg.k = writeFolder(t, 120), 2, 3, 10
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out, io.Discard)
	require.NoError(t, err)
	require.Len(t, res, 3)
	assert.Equal(t, []string{"bar-h", "bar-v", "square"}, []string{res[0].class, res[1].class, res[2].class})
	for _, cr := range res {
		assert.Equal(t, 6, cr.rounds, "rounds 1–3 of two seeds")
		for _, p := range cr.precision {
			assert.True(t, p >= 0 && p <= 1)
		}
	}
	assert.Contains(t, out.String(), "average")
	assert.Contains(t, out.String(), "check: ")
}

// TestSample runs the protocol briefly on 2,000 images of the test split
// shipped with Shoal: the command works end to end, and feedback lifts the
// hardest class.
func TestSample(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("loading the shipped sample takes a minute under the race detector")
	}
	t.Parallel()
	cfg := defaults()
	cfg.classes, cfg.limit = "Shirt,Trouser", 2000
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out, io.Discard)
	require.NoError(t, err)
	require.Len(t, res, 2)
	shirt := res[0]
	assert.Equal(t, "Shirt", shirt.class)
	assert.Greater(t, shirt.precision[3], shirt.precision[0]+0.2, "feedback lifts Shirt: %v", shirt.precision)
	assert.Contains(t, out.String(), "check: common: mean round-3 fresh precision")
	assert.Equal(t, 3, res[1].rounds, "rounds 1–3 of one seed")
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, mutate := range []func(*config){
		func(c *config) { c.seeds = 0 },
		func(c *config) { c.reranker = "svm" },
		func(c *config) { c.agg = "median" },
		func(c *config) { c.data = t.TempDir() },
		func(c *config) { c.rare = 0.5 },
		func(c *config) { c.rare = -0.1 },
		func(c *config) { c.heldout, c.finetune = true, true },
		func(c *config) { c.heldout, c.hoEpochs = true, 0 },
		func(c *config) { c.heldout, c.hoEpochs, c.hoTrain, c.hoDim = true, 1, -1, 32 },
		func(c *config) { c.heldout, c.hoEpochs, c.hoDim = true, 1, 0 },
	} {
		cfg := defaults()
		mutate(&cfg)
		_, err := run(context.Background(), cfg, io.Discard, io.Discard)
		assert.Error(t, err)
	}
}

// BenchmarkFashionMNIST is the full protocol on the 60,000 images of the
// train split: 10 classes, 5 seeds, rounds 0–5. One iteration takes about
// a minute on two cores.
func BenchmarkFashionMNIST(b *testing.B) {
	if _, err := os.Stat(dataset.DebianFashionDir); err != nil {
		b.Skip("Fashion-MNIST not found; install it with: apt-get install dataset-fashion-mnist")
	}
	cfg := defaults()
	cfg.data, cfg.seeds, cfg.rounds = dataset.DebianFashionDir, 5, 5
	for b.Loop() {
		res, err := run(context.Background(), cfg, io.Discard, io.Discard)
		require.NoError(b, err)
		var r0, r3 float64
		for _, cr := range res {
			r0 += cr.precision[0] / float64(len(res))
			r3 += cr.precision[3] / float64(len(res))
		}
		b.ReportMetric(r0, "P-round0")
		b.ReportMetric(r3, "P-round3")
	}
}

// TestRare runs the rare protocol on a generated folder: each class is
// subsampled to 5% of its pool, the tables, the count of cells below round
// 0 and the check lines are printed, and scikit-learn runs side by side
// (or is skipped with a message when python3-sklearn is absent).
func TestRare(t *testing.T) {
	t.Parallel()
	cfg := defaults()
	cfg.data, cfg.seeds, cfg.rounds, cfg.k, cfg.rare, cfg.peer = writeFolder(t, 120), 2, 3, 5, 0.05, true
	cfg.reranker, cfg.explore = "hybrid", 2
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out, io.Discard)
	require.NoError(t, err)
	require.Len(t, res, 3)
	text := out.String()
	assert.Contains(t, text, "subsampled to 5% of the pool")
	assert.Contains(t, text, "reranker hybrid")
	assert.Contains(t, text, "2 explored per round")
	assert.Contains(t, text, "cells below their class's round 0:")
	assert.Contains(t, text, "check: rare 5%: mean round-3 fresh precision")
	assert.Contains(t, text, "check: mean round time")
	if !strings.Contains(text, "scikit-learn: skipped") {
		assert.Contains(t, text, "scikit-learn LogisticRegression(class_weight=balanced), same protocol:")
	}
}

func TestSubsample(t *testing.T) {
	t.Parallel()
	idx := make([]int, 1000)
	for i := range idx {
		idx[i] = i
	}
	kept, dropped := subsample(idx, 9000, 0.005, 1, 2)
	assert.Len(t, kept, 45) // 45 / (9000 + 45) = 0.5 %
	assert.Len(t, dropped, 955)
	again, _ := subsample(idx, 9000, 0.005, 1, 2)
	assert.Equal(t, kept, again, "reproducible per seed and class")
	other, _ := subsample(idx, 9000, 0.005, 2, 2)
	assert.NotEqual(t, kept, other)
	all, none := subsample(idx[:5], 10, 0.4, 1, 2) // would keep 7 of 5
	assert.Equal(t, idx[:5], all)
	assert.Empty(t, none)
}

func TestBelowRoundZero(t *testing.T) {
	t.Parallel()
	got := belowRoundZero([]classResult{
		{class: "a", precision: []float64{0.5, 0.4, 0.5, 0.9}},
		{class: "b", precision: []float64{1, 1, 0.95}},
	})
	assert.Equal(t, []string{"a r1 0.40 < 0.50", "b r2 0.95 < 1.00"}, got)
}

// TestHeldOut runs the held-out-class fine-tuned mode on a generated
// folder: for each class an adapter is fine-tuned on the other two, the
// same rare pools and buckets are hunted over pixels and over the adapter,
// and both tables and the held-out check line are printed.
func TestHeldOut(t *testing.T) {
	t.Parallel()
	cfg := defaults()
	cfg.data, cfg.seeds, cfg.rounds, cfg.k, cfg.rare = writeFolder(t, 60), 1, 3, 5, 0.05
	cfg.heldout, cfg.hoTrain, cfg.hoEpochs, cfg.hoDim = true, 30, 1, 8
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out, io.Discard)
	require.NoError(t, err)
	require.Len(t, res, 3)
	text := out.String()
	for _, cr := range res {
		require.NotNil(t, cr.heldout, cr.class)
		assert.Equal(t, cr.class, cr.heldout.class)
		assert.Equal(t, 3, cr.heldout.rounds, "rounds 1–3 of one seed")
		for _, p := range cr.heldout.precision {
			assert.True(t, p >= 0 && p <= 1)
		}
		assert.Contains(t, text, "Held out "+cr.class+": fine-tuned on 60 images of 2 other classes")
	}
	assert.Contains(t, text, "at most 30 images of each other class (the target's label removed), 1 epochs, 8 dimensions")
	assert.Contains(t, text, "Shoal, pixel encoder (fresh precision per round")
	assert.Contains(t, text, "Shoal, fine-tuned with the target class held out, same pools and buckets:")
	assert.Contains(t, text, "check: heldout fine-tuned: mean round-3 fresh precision")
}

// TestHeldOutFashion runs the held-out mode on the first 3,000 images of
// Debian's Fashion-MNIST for one class, briefly: the adapter that never
// saw Shirt labels still hunts Shirts.
func TestHeldOutFashion(t *testing.T) {
	if _, err := os.Stat(dataset.DebianFashionDir); err != nil {
		t.Skip("Fashion-MNIST not found; install it with: apt-get install dataset-fashion-mnist")
	}
	if testing.Short() || raceEnabled {
		t.Skip("embedding 3,000 images takes too long under the race detector")
	}
	t.Parallel()
	cfg := defaults()
	cfg.data, cfg.limit, cfg.classes, cfg.rare = dataset.DebianFashionDir, 3000, "Shirt", 0.02
	cfg.heldout, cfg.hoTrain, cfg.hoEpochs, cfg.hoDim = true, 100, 2, 32
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out, io.Discard)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Contains(t, out.String(), "Held out Shirt: fine-tuned on 900 images of 9 other classes")
	assert.Equal(t, 3, res[0].heldout.rounds)
}
