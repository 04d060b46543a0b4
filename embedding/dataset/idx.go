package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"strconv"

	"github.com/shoalhq/shoal/embedding"
)

// IDX magic numbers: two zero bytes, the element type (0x08: unsigned
// byte) and the number of dimensions. See the format's description at
// http://yann.lecun.com/exdb/mnist/ ("THE IDX FILE FORMAT").
const (
	idxImagesMagic = 0x00000803 // unsigned bytes, 3 dimensions: count, rows, columns
	idxLabelsMagic = 0x00000801 // unsigned bytes, 1 dimension: count
)

// Limits on IDX files, against headers that would allocate without bound.
const (
	// MaxIDXPixels is the largest image, in pixels, an IDX file may hold.
	MaxIDXPixels = 1 << 24
	// MaxIDXItems is the most images an IDX file may hold.
	MaxIDXItems = 1 << 28
)

// LoadIDX reads an IDX images file (unsigned bytes, count × rows ×
// columns; magic 0x00000803) and its IDX labels file (unsigned bytes, one
// per image; magic 0x00000801), each optionally gzipped, as used by MNIST
// and Fashion-MNIST. An empty labels names no labels file: the inputs then
// have no "label".
//
// Input i has the ID i in five or more digits ("00042", after
// [WithIDPrefix]), Decoded set to an *image.Gray of rows × columns (the
// pixels as stored, no encoding round trip), and Metadata "label": the
// label's name with [WithClasses], else its number in decimal.
//
// Errors name the file: a magic number that is not IDX of unsigned bytes,
// counts that differ between the two files, a truncated file or one with
// data after the last image, a label without a name.
func LoadIDX(images, labels string, opts ...Option) ([]embedding.Input, error) {
	fi, err := os.Open(images)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer fi.Close()
	var lr io.Reader
	if labels != "" {
		fl, err := os.Open(labels)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		defer fl.Close()
		lr = fl
	}
	return readIDX(fi, lr, images, labels, "LoadIDX", opts)
}

// ReadIDX is [LoadIDX] over readers, for IDX files that are not on disk
// (embedded in the binary, downloaded, in an archive). A nil labels reads
// no labels. Errors call the two readers "images" and "labels".
func ReadIDX(images, labels io.Reader, opts ...Option) ([]embedding.Input, error) {
	return readIDX(images, labels, "images", "labels", "ReadIDX", opts)
}

func readIDX(images, labels io.Reader, imagesName, labelsName, call string, opts []Option) ([]embedding.Input, error) {
	c, err := newConfig(call, true, opts)
	if err != nil {
		return nil, err
	}
	if images == nil {
		return nil, fmt.Errorf("%w: %s: nil images reader", ErrInvalidOption, call)
	}
	ir, err := gunzip(imagesName, images)
	if err != nil {
		return nil, err
	}
	var ih [4]uint32
	if err := readHeader(imagesName, ir, ih[:]); err != nil {
		return nil, err
	}
	if ih[0] != idxImagesMagic {
		return nil, fmt.Errorf("%w: %s: magic number %#08x, want %#08x (IDX images: unsigned bytes, 3 dimensions)",
			ErrInvalidData, imagesName, ih[0], idxImagesMagic)
	}
	n, rows, cols := int64(ih[1]), int64(ih[2]), int64(ih[3])
	if rows < 1 || cols < 1 || rows > MaxIDXPixels || cols > MaxIDXPixels || rows*cols > MaxIDXPixels || n > MaxIDXItems {
		return nil, fmt.Errorf("%w: %s: %d images of %d×%d pixels (at most %d images of %d pixels)",
			ErrInvalidData, imagesName, n, rows, cols, MaxIDXItems, MaxIDXPixels)
	}
	var labelBytes []byte
	if labels != nil {
		lr, err := gunzip(labelsName, labels)
		if err != nil {
			return nil, err
		}
		var lh [2]uint32
		if err := readHeader(labelsName, lr, lh[:]); err != nil {
			return nil, err
		}
		if lh[0] != idxLabelsMagic {
			return nil, fmt.Errorf("%w: %s: magic number %#08x, want %#08x (IDX labels: unsigned bytes, 1 dimension)",
				ErrInvalidData, labelsName, lh[0], idxLabelsMagic)
		}
		if int64(lh[1]) != n {
			return nil, fmt.Errorf("%w: %s: %d labels for the %d images of %s", ErrInvalidData, labelsName, lh[1], n, imagesName)
		}
		if labelBytes, err = readLabels(labelsName, lr, int(n)); err != nil {
			return nil, err
		}
		for i, l := range labelBytes {
			if c.classes != nil && int(l) >= len(c.classes) {
				return nil, fmt.Errorf("%w: %s: label %d of item %d has no name (WithClasses has %d)",
					ErrInvalidData, labelsName, l, i, len(c.classes))
			}
		}
	}
	pixels := int(rows * cols)
	width := max(5, len(strconv.FormatInt(n-1, 10)))
	out := make([]embedding.Input, 0, min(n, 1<<16))
	// Pixels are read into blocks of about 4 MiB, so that a header claiming
	// more images than the file holds allocates little.
	perBlock := max(1, (4<<20)/pixels)
	var block []byte
	for i := range int(n) {
		if len(block) == 0 {
			block = make([]byte, min(int(n)-i, perBlock)*pixels)
			if k, err := io.ReadFull(ir, block); err != nil {
				return nil, truncated(imagesName, i+k/pixels, int(n), err)
			}
		}
		img := &image.Gray{Pix: block[:pixels:pixels], Stride: int(cols), Rect: image.Rect(0, 0, int(cols), int(rows))}
		block = block[pixels:]
		in := embedding.Input{ID: fmt.Sprintf("%s%0*d", c.idPrefix, width, i), Decoded: img}
		own := map[string]any{}
		if labelBytes != nil {
			l := labelBytes[i]
			if c.classes != nil {
				own["label"] = c.classes[l]
			} else {
				own["label"] = strconv.Itoa(int(l))
			}
		}
		in.Metadata = c.metadata(own)
		out = append(out, in)
	}
	if err := atEOF(imagesName, ir, int(n), "images"); err != nil {
		return nil, err
	}
	return out, nil
}

// gunzip returns a reader of r's content, gunzipped if it starts with
// gzip's magic bytes.
func gunzip(name string, r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(2)
	if err != nil {
		return nil, truncatedHeader(name, err)
	}
	if head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: gzip: %v", ErrInvalidData, name, err)
		}
		return bufio.NewReaderSize(zr, 64<<10), nil
	}
	return br, nil
}

func readHeader(name string, r io.Reader, h []uint32) error {
	if err := binary.Read(r, binary.BigEndian, h); err != nil {
		return truncatedHeader(name, err)
	}
	return nil
}

func truncatedHeader(name string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: shorter than an IDX header", ErrInvalidData, name)
	}
	return fmt.Errorf("dataset: %s: %w", name, err)
}

// readLabels reads the n labels of a labels file after its header.
func readLabels(name string, r io.Reader, n int) ([]byte, error) {
	var buf []byte
	for len(buf) < n {
		chunk := make([]byte, min(n-len(buf), 1<<20))
		k, err := io.ReadFull(r, chunk)
		buf = append(buf, chunk[:k]...)
		if err != nil {
			return nil, truncated(name, len(buf), n, err)
		}
	}
	if err := atEOF(name, r, n, "labels"); err != nil {
		return nil, err
	}
	return buf, nil
}

// truncated reports a file that ends after done of the n items its header
// announces.
func truncated(name string, done, n int, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: truncated after %d of the %d items its header announces", ErrInvalidData, name, done, n)
	}
	return fmt.Errorf("dataset: %s: %w", name, err)
}

// atEOF checks that r has nothing after the n items its header announced.
func atEOF(name string, r io.Reader, n int, what string) error {
	var b [1]byte
	k, err := r.Read(b[:])
	for k == 0 && err == nil {
		k, err = r.Read(b[:])
	}
	switch {
	case k > 0:
		return fmt.Errorf("%w: %s: data after the %d %s its header announces", ErrInvalidData, name, n, what)
	case errors.Is(err, io.EOF):
		return nil
	}
	return fmt.Errorf("dataset: %s: %w", name, err)
}
