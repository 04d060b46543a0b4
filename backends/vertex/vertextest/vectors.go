package vertextest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
)

// Vector returns the fake's deterministic embedding of key: dim values
// drawn from a generator seeded with key's hash, scaled to unit length. The
// fake embeds an instance as Vector(Key(instance), dim), so tests can
// compute the vectors they expect.
func Vector(key string, dim int) []float32 {
	h := sha256.Sum256([]byte(key))
	r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])))
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := r.Float64()*2 - 1
		v[i] = float32(x)
		n += x * x
	}
	if n > 0 {
		s := float32(1 / math.Sqrt(n))
		for i := range v {
			v[i] *= s
		}
	}
	return v
}

// Key returns what the fake embeds for one instance: "image:" and the
// SHA-256 of the decoded bytes for an inline image (so the same image always
// gets the same vector), "uri:" and the URI for a gs:// image, "text:" and
// the text for {"text"} or {"content"} instances, else the instance's JSON.
// Images win over text, as they do in the Vertex encoder.
func Key(instance any) string {
	m, ok := instance.(map[string]any)
	if ok {
		if img, ok := m["image"].(map[string]any); ok {
			if b, ok := img["bytesBase64Encoded"].(string); ok {
				raw, err := base64.StdEncoding.DecodeString(b)
				if err == nil {
					return ImageKey(raw)
				}
			}
			if u, ok := img["gcsUri"].(string); ok {
				return "uri:" + u
			}
		}
		if t, ok := m["text"].(string); ok {
			return "text:" + t
		}
		if t, ok := m["content"].(string); ok {
			return "text:" + t
		}
	}
	b, _ := json.Marshal(instance) // maps marshal with sorted keys: deterministic
	return "json:" + string(b)
}

// ImageKey is [Key] of an instance holding the image bytes b.
func ImageKey(b []byte) string {
	h := sha256.Sum256(b)
	return "image:" + base64.RawURLEncoding.EncodeToString(h[:])
}
