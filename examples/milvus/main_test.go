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
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeFolder writes a labeled folder of two shapes: bright squares in the
// top-left corner ("square") and in the bottom-right corner ("corner").
func writeFolder(t *testing.T, perClass int) string {
	t.Helper()
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("path,label\n")
	for c, label := range []string{"square", "corner"} {
		for i := range perClass {
			img := image.NewGray(image.Rect(0, 0, 16, 16))
			off := c * 8
			for y := off; y < off+8; y++ {
				for x := off; x < off+8; x++ {
					img.SetGray(x, y, color.Gray{Y: uint8(200 + (i*7+x+y)%50)})
				}
			}
			var buf bytes.Buffer
			require.NoError(t, png.Encode(&buf, img))
			name := fmt.Sprintf("%s-%d.png", label, i)
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644))
			fmt.Fprintf(&csv, "%s,%s\n", name, label)
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv.String()), 0o644))
	return dir
}

var resultRow = regexp.MustCompile(`(?m)^\d+\s+\S+\s+(\S+)\s+-?\d+\.\d{3}$`)

func TestRunFake(t *testing.T) {
	var out bytes.Buffer
	cfg := config{fake: true, data: writeFolder(t, 20), collection: "quickstart", indexType: "HNSW", class: "square", bucketSize: 3, k: 10}
	require.NoError(t, run(t.Context(), cfg, credentials{}, &out))
	s := out.String()
	assert.Contains(t, s, "Indexed 40 images")
	rows := resultRow.FindAllStringSubmatch(s, -1)
	require.Len(t, rows, 10, "ten result rows in:\n%s", s)
	for _, r := range rows {
		assert.Equal(t, "square", r[1], "the shapes are separable:\n%s", s)
	}
	assert.Contains(t, s, `precision@10 = 1.00 for a bucket of 3 "square"`)
}

// The shipped Fashion-MNIST sample, as the command runs by default (slow
// under the race detector, so skipped there and with -short).
func TestRunFakeShippedSample(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("the shipped sample is slow under -race; TestRunFake covers the flow")
	}
	var out bytes.Buffer
	cfg := config{fake: true, collection: "quickstart", indexType: "AUTOINDEX", class: "Sneaker", bucketSize: 5, k: 10, limit: 200}
	require.NoError(t, run(t.Context(), cfg, credentials{}, &out))
	assert.Contains(t, out.String(), "Indexed 200 images")
	assert.Len(t, resultRow.FindAllString(out.String(), -1), 10)
}

// Without a server the command fails with a clear error (no hang).
func TestRunNoServer(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the connection attempt")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	err := run(ctx, config{addr: "127.0.0.1:1", collection: "x", indexType: "AUTOINDEX", class: "square", k: 1, bucketSize: 1, data: writeFolder(t, 1)}, credentials{password: "hunter2"}, &bytes.Buffer{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
}
