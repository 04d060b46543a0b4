package ingest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"image"
	"image/draw"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
)

// hashes returns the hash of what in sends to a model (Text, Image,
// Decoded pixels, URI, MIMEType; not ID or Metadata) and the hash of that
// and in's metadata in canonical form, each as 32 hex digits (128 bits of
// SHA-256).
func hashes(in embedding.Input) (content, all string) {
	h := sha256.New()
	field := func(tag byte, b []byte) {
		var n [9]byte
		n[0] = tag
		binary.LittleEndian.PutUint64(n[1:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field('t', []byte(in.Text))
	field('i', in.Image)
	field('u', []byte(in.URI))
	field('m', []byte(in.MIMEType))
	if in.Decoded != nil {
		pixels(h, in.Decoded)
	}
	sum := h.Sum(nil)
	content = hex.EncodeToString(sum[:16])
	md, err := driver.Canonical(index.Metadata(in.Metadata))
	if err != nil {
		md = index.Metadata(in.Metadata) // the store refuses it; the hash does not matter
	}
	b, _ := json.Marshal(md) // maps marshal in key order
	h.Reset()
	field('c', sum)
	field('d', b)
	all = hex.EncodeToString(h.Sum(nil)[:16])
	return content, all
}

// pixels hashes an image's bounds and its pixels as 8-bit RGBA.
func pixels(h hash.Hash, img image.Image) {
	b := img.Bounds()
	var hdr [17]byte
	hdr[0] = 'p'
	binary.LittleEndian.PutUint32(hdr[1:], uint32(b.Min.X))
	binary.LittleEndian.PutUint32(hdr[5:], uint32(b.Min.Y))
	binary.LittleEndian.PutUint32(hdr[9:], uint32(b.Dx()))
	binary.LittleEndian.PutUint32(hdr[13:], uint32(b.Dy()))
	h.Write(hdr[:])
	switch m := img.(type) {
	case *image.Gray:
		h.Write([]byte{'g'})
		for y := b.Min.Y; y < b.Max.Y; y++ {
			i := m.PixOffset(b.Min.X, y)
			h.Write(m.Pix[i : i+b.Dx()])
		}
		return
	case *image.RGBA:
		h.Write([]byte{'r'})
		for y := b.Min.Y; y < b.Max.Y; y++ {
			i := m.PixOffset(b.Min.X, y)
			h.Write(m.Pix[i : i+4*b.Dx()])
		}
		return
	}
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, img, b.Min, draw.Src)
	pixels(h, rgba)
}
