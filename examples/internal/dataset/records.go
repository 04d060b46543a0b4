package dataset

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"iter"
	"os"
	"path/filepath"
	"strings"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
)

// Inputs streams the items as embedding inputs (see Item.Input), in order.
func Inputs(items []Item) iter.Seq2[embedding.Input, error] {
	return func(yield func(embedding.Input, error) bool) {
		for _, it := range items {
			if !yield(it.Input(), nil) {
				return
			}
		}
	}
}

// Records embeds the items with enc (through embedding.EncodeAll, with
// opts) and streams them as index records whose metadata carries "label"
// and, when set, "split": ready for index.UpsertAll.
func Records(ctx context.Context, enc embedding.Encoder, items []Item, opts ...embedding.Option) iter.Seq2[index.Record, error] {
	return index.FromEmbedded(embedding.EncodeAll(ctx, enc, Inputs(items), opts...))
}

// WriteShapes writes a small labeled folder for tests into dir: perClass
// 16×16 PNGs of a bright square in the top-left corner (label "square")
// and as many in the bottom-right corner ("corner"), with a labels.csv.
// The two classes are separable by any pixel encoder.
func WriteShapes(dir string, perClass int) error {
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
			if err := png.Encode(&buf, img); err != nil {
				return err
			}
			name := fmt.Sprintf("%s-%d.png", label, i)
			if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(&csv, "%s,%s\n", name, label)
		}
	}
	return os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv.String()), 0o644)
}
