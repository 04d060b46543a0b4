package local_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Encode product titles and compare them. Vectors have unit norm, so their
// dot product is their cosine similarity. Texts that share no word piece
// still score a little above or below 0: the noise of the random projection,
// of the order of 1/sqrt(Dim).
func ExampleTextEncoder() {
	enc, err := local.NewTextEncoder()
	if err != nil {
		log.Fatal(err)
	}
	vecs, err := enc.Encode(context.Background(), []embedding.Input{
		{ID: "a", Text: "Red cotton T-shirt"},
		{ID: "b", Text: "T-shirt in red cotton, short sleeves"},
		{ID: "c", Text: "Leather ankle boots"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(enc.Info().Model)
	fmt.Printf("a~b %.2f\n", vecmath.Dot(vecs[0], vecs[1]))
	fmt.Printf("a~c %.2f\n", vecmath.Dot(vecs[0], vecs[2]))
	// Output:
	// shoal-local-text/v1 dim=256 words=1-2 chars=3-5 seed=1
	// a~b 0.72
	// a~c 0.16
}

// Encode a PNG (here generated: a white disc on black) with the defaults:
// 28×28 grayscale pixels, no projection.
func ExampleImageEncoder() {
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			if (x-32)*(x-32)+(y-32)*(y-32) < 20*20 {
				img.SetGray(x, y, color.Gray{Y: 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		log.Fatal(err)
	}

	enc, err := local.NewImageEncoder()
	if err != nil {
		log.Fatal(err)
	}
	vecs, err := enc.Encode(context.Background(), []embedding.Input{{ID: "disc.png", Image: buf.Bytes()}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(enc.Info().Model)
	fmt.Println("dimension:", len(vecs[0]))
	fmt.Printf("norm: %.3f\n", vecmath.Norm(vecs[0]))
	// Output:
	// shoal-local-image/v1 side=28 gray dim=784
	// dimension: 784
	// norm: 1.000
}

// Project the pixels to 128 dimensions with a seeded Gaussian matrix, and
// encode an image that is already in memory (Input.Decoded: no PNG round
// trip).
func ExampleImageEncoder_decoded() {
	enc, err := local.NewImageEncoder(local.WithImageDim(128), local.WithImageSeed(7))
	if err != nil {
		log.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range img.Pix {
		img.Pix[i] = uint8(i % 256)
	}
	vecs, err := enc.Encode(context.Background(), []embedding.Input{{ID: "ramp", Decoded: img}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(enc.Info().Model)
	fmt.Println("dimension:", len(vecs[0]))
	// Output:
	// shoal-local-image/v1 side=28 gray dim=128 proj=gaussian seed=7
	// dimension: 128
}
