package dataset_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/dataset"
	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/finetune"
)

// Load a labeled folder (images and a labels.csv), embed it, and turn it
// into fine-tuning examples.
func Example() {
	dir, err := os.MkdirTemp("", "shoal-dataset")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// A folder as a team would have it: images, and labels.csv.
	csv := "path,label\n"
	for i, label := range []string{"light", "dark", "light"} {
		img := image.NewGray(image.Rect(0, 0, 8, 8))
		for p := range img.Pix {
			img.Pix[p] = uint8(40 + 150*(i%2^1) + p)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			log.Fatal(err)
		}
		name := fmt.Sprintf("img%d.png", i)
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
		csv += name + "," + label + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv), 0o644); err != nil {
		log.Fatal(err)
	}

	inputs, err := dataset.LoadFolder(dir, dataset.WithMetadata("split", "train"))
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range inputs {
		fmt.Println(in.ID, in.MIMEType, in.Metadata["label"], in.Metadata["split"])
	}

	enc, err := local.NewImageEncoder()
	if err != nil {
		log.Fatal(err)
	}
	for e, err := range embedding.EncodeAll(context.Background(), enc, embedding.Inputs(inputs)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Input.ID, len(e.Vector), e.Input.Metadata["label"]) // metadata travels with the vector
	}

	examples, err := finetune.Labeled(inputs, "label")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(examples), "examples, the first labeled", examples[0].Label)
	// Output:
	// img0.png image/png light train
	// img1.png image/png dark train
	// img2.png image/png light train
	// img0.png 784 light
	// img1.png 784 dark
	// img2.png 784 light
	// 3 examples, the first labeled light
}

// A JSON Lines manifest mixes text items and files; every other key is
// metadata.
func ExampleLoadManifest() {
	dir, err := os.MkdirTemp("", "shoal-manifest")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	manifest := `{"id": "q1", "text": "red running shoes", "label": "shoes", "price": 59.5}
{"id": "q2", "text": "blue denim jacket", "label": "jackets", "tags": ["sale"]}
`
	name := filepath.Join(dir, "items.jsonl")
	if err := os.WriteFile(name, []byte(manifest), 0o644); err != nil {
		log.Fatal(err)
	}
	inputs, err := dataset.LoadManifest(name)
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range inputs {
		fmt.Printf("%s %q %v\n", in.ID, in.Text, in.Metadata)
	}
	// Output:
	// q1 "red running shoes" map[label:shoes price:59.5]
	// q2 "blue denim jacket" map[label:jackets tags:[sale]]
}

// IDX files (MNIST, Fashion-MNIST) give raw pixels as Input.Decoded, which
// the local image encoder reads without an encoding round trip.
func ExampleReadIDX() {
	images := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, // 2 images of 1×2
		10, 200, 255, 0}
	labels := []byte{0, 0, 8, 1, 0, 0, 0, 2, 1, 0}
	inputs, err := dataset.ReadIDX(bytes.NewReader(images), bytes.NewReader(labels),
		dataset.WithClasses("T-shirt/top", "Trouser"), dataset.WithIDPrefix("test-"))
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range inputs {
		fmt.Println(in.ID, in.Decoded.Bounds().Size(), in.Metadata["label"])
	}
	// Output:
	// test-00000 (2,1) Trouser
	// test-00001 (2,1) T-shirt/top
}
