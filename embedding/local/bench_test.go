package local_test

import (
	"context"
	"fmt"
	"image"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
)

// BenchmarkImageEncoder encodes batches of 32 PNGs, reporting images/s on
// one goroutine ("serial") and on all cores ("parallel").
func BenchmarkImageEncoder(b *testing.B) {
	const batch = 32
	small := make([]embedding.Input, batch)
	large := make([]embedding.Input, batch)
	for i := range small {
		small[i] = embedding.Input{ID: fmt.Sprint(i), Image: encodePNG(b, textured(i))}
		large[i] = embedding.Input{ID: fmt.Sprint(i), Image: encodeJPEG(b, shape("ring", 256+i))}
	}
	cases := []struct {
		name string
		in   []embedding.Input
		opts []local.ImageOption
	}{
		{"png28", small, nil},
		{"png28/dim=256", small, []local.ImageOption{local.WithImageDim(256)}},
		{"png28/rgb", small, []local.ImageOption{local.WithColorMode(local.RGB)}},
		{"jpeg256/resize", large, nil},
	}
	for _, c := range cases {
		e, err := local.NewImageEncoder(c.opts...)
		require.NoError(b, err)
		b.Run(c.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Encode(context.Background(), c.in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.Encode(context.Background(), c.in); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkImageEncoderDecoded measures Encode of Input.Decoded 28×28
// pixels, the path of loaders that read raw pixels (IDX files).
func BenchmarkImageEncoderDecoded(b *testing.B) {
	e, err := local.NewImageEncoder()
	require.NoError(b, err)
	imgs := make([]image.Image, 64)
	for i := range imgs {
		imgs[i] = textured(i)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		in := []embedding.Input{{ID: "img", Decoded: imgs[n%len(imgs)]}}
		if _, err := e.Encode(context.Background(), in); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkTextEncoder encodes batches of 32 product-title-like texts
// (about 10 words each).
func BenchmarkTextEncoder(b *testing.B) {
	const batch = 32
	words := []string{"red", "cotton", "t-shirt", "with", "short", "sleeves", "and", "a", "round", "neck",
		"leather", "ankle", "boots", "für", "Damen", "größe", "42", "striped", "summer", "dress"}
	in := make([]embedding.Input, batch)
	for i := range in {
		text := ""
		for j := range 10 {
			text += words[(i*7+j*3)%len(words)] + " "
		}
		in[i] = embedding.Input{ID: fmt.Sprint(i), Text: text}
	}
	for _, dim := range []int{256, 1024} {
		e, err := local.NewTextEncoder(local.WithTextDim(dim))
		require.NoError(b, err)
		b.Run(fmt.Sprintf("dim=%d", dim), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Encode(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "texts/s")
		})
	}
}
