package finetune

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
)

// The embedding cache file (WithCacheDir) holds the base embeddings of one
// set of inputs:
//
//	"SHOALFC1" | n uint32 | d uint32 | len(model) uint32 | model | set key [32]byte
//	| n·d float32 | CRC-32C of all the preceding bytes
//
// all little-endian. Its name is derived from the model and the set key, and
// its content is checked against both, so a stale or corrupt file is never
// used.

const cacheMagic = "SHOALFC1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func cachePath(dir, model string, setKey [32]byte) string {
	m := sha256.Sum256([]byte(model))
	return filepath.Join(dir, fmt.Sprintf("finetune-%x-%x.vec", m[:6], setKey[:12]))
}

// readCache returns the n·d cached embeddings of the set, if a valid cache
// file holds them.
func readCache(dir, model string, setKey [32]byte, n, d int) ([]float32, bool) {
	data, err := os.ReadFile(cachePath(dir, model, setKey))
	if err != nil {
		return nil, false
	}
	head := len(cacheMagic) + 12 + len(model) + 32
	if len(data) != head+4*n*d+4 {
		return nil, false
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum || string(body[:8]) != cacheMagic {
		return nil, false
	}
	le := binary.LittleEndian
	if int(le.Uint32(body[8:])) != n || int(le.Uint32(body[12:])) != d || int(le.Uint32(body[16:])) != len(model) {
		return nil, false
	}
	if string(body[20:20+len(model)]) != model || !bytes.Equal(body[20+len(model):head], setKey[:]) {
		return nil, false
	}
	out := make([]float32, n*d)
	for i := range out {
		f := math.Float32frombits(le.Uint32(body[head+4*i:]))
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, false
		}
		out[i] = f
	}
	return out, true
}

// writeCache stores the n·d embeddings of the set, atomically (a temporary
// file renamed into place).
func writeCache(dir, model string, setKey [32]byte, n, d int, x []float32) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	buf := make([]byte, 0, len(cacheMagic)+12+len(model)+32+4*len(x)+4)
	buf = append(buf, cacheMagic...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(d))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(model)))
	buf = append(buf, model...)
	buf = append(buf, setKey[:]...)
	for _, f := range x {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
	}
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
	return writeFileAtomic(cachePath(dir, model, setKey), buf)
}

// writeFileAtomic writes data to a temporary file next to path, syncs it and
// renames it to path, so readers see the old file or the new one, whole.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
