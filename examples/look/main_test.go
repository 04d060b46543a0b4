package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/search/look"
)

// writeFolder writes a labeled folder of three kinds of 16×16 images —
// bright squares top-left ("square"), bottom-right ("corner"), and a
// horizontal bar ("bar") — with noise, one planted exact duplicate pair
// and one odd image (a diagonal line) labeled "square".
func writeFolder(t *testing.T, perClass int) string {
	t.Helper()
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("path,label\n")
	write := func(name, label string, img *image.Gray) {
		var buf bytes.Buffer
		require.NoError(t, png.Encode(&buf, img))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644))
		fmt.Fprintf(&csv, "%s,%s\n", name, label)
	}
	for c, label := range []string{"square", "corner", "bar"} {
		for i := range perClass {
			img := image.NewGray(image.Rect(0, 0, 16, 16))
			for y := range 16 {
				for x := range 16 {
					in := false
					switch c {
					case 0:
						in = x < 8 && y < 8
					case 1:
						in = x >= 8 && y >= 8
					case 2:
						in = y >= 6 && y < 10
					}
					v := uint8((i*31 + x*7 + y*13) % 40)
					if in {
						v += 180
					}
					img.SetGray(x, y, color.Gray{Y: v})
				}
			}
			write(fmt.Sprintf("%s-%02d.png", label, i), label, img)
			if c == 0 && i == 0 {
				write("square-copy.png", label, img) // the planted duplicate
			}
		}
	}
	odd := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range 16 {
		odd.SetGray(i, i, color.Gray{Y: 255})
		odd.SetGray(15-i, i, color.Gray{Y: 255})
	}
	write("odd.png", "square", odd)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv.String()), 0o644))
	return dir
}

func TestRunOnGeneratedFolder(t *testing.T) {
	t.Parallel()
	data := writeFolder(t, 30)
	out := t.TempDir()
	var buf bytes.Buffer
	res, err := runResult(context.Background(), config{data: data, out: out, k: 5, top: 5, dup: 0.0005, seed: 1}, &buf)
	require.NoError(t, err)
	got := buf.String()
	t.Log(got)

	assert.Equal(t, "odd.png", res.rarest[0].ID, "the odd image is the rarest")
	require.Len(t, res.dups.Pairs, 1, "only the planted duplicate is within the threshold")
	p := res.dups.Pairs[0]
	assert.ElementsMatch(t, []string{"square-00.png", "square-copy.png"}, []string{p.A, p.B})
	assert.Contains(t, got, "The 5 rarest items")
	assert.Contains(t, got, "1 near-duplicate pairs")
	assert.Contains(t, got, "Clusters where it fails most")
	require.NotEmpty(t, res.errs)

	require.Len(t, res.files, 4)
	for _, f := range res.files {
		assert.Contains(t, got, f)
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		if strings.HasSuffix(f, ".png") {
			_, err := png.Decode(bytes.NewReader(b))
			require.NoError(t, err, f)
		} else {
			assert.Contains(t, string(b), "data:image/png;base64,", "thumbnails in %s", f)
			assert.Contains(t, string(b), `"id":"odd.png"`)
		}
	}
	for _, m := range []look.Method{look.PCA, look.Neighborhood} {
		assert.Greater(t, res.quality[m].Trustworthiness, 0.8, m.String())
	}
}

// TestFashionMapKeepsNeighbours maps a part of the shipped Fashion-MNIST
// sample and checks the trustworthiness of both maps at k = 10 (on the
// whole sample: neighbourhood 0.96, PCA 0.87).
func TestFashionMapKeepsNeighbours(t *testing.T) {
	t.Parallel()
	n := 2000
	if testing.Short() || raceEnabled { // the race detector slows the layout's SGD tenfold
		n = 500
	}
	var buf bytes.Buffer
	res, err := runResult(context.Background(), config{n: n, out: t.TempDir(), k: 10, top: 20, dup: 0.002, seed: 1, pictureWidth: 400, pictHigh: 300}, &buf)
	require.NoError(t, err)
	t.Logf("%d images: neighbourhood %+v, PCA %+v", n, res.quality[look.Neighborhood], res.quality[look.PCA])
	assert.Greater(t, res.quality[look.Neighborhood].Trustworthiness, 0.93)
	assert.Greater(t, res.quality[look.PCA].Trustworthiness, 0.83)
	assert.Greater(t, res.quality[look.Neighborhood].KNNPreservation, res.quality[look.PCA].KNNPreservation)
	assert.Len(t, res.rarest, 20)
}
