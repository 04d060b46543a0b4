package milvus

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

func TestPrimaryKey(t *testing.T) {
	ref := func(ns, id string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(ns)) + "." + base64.RawURLEncoding.EncodeToString([]byte(id))
	}
	for _, c := range [][2]string{
		{"", "a"}, {"a", "a"}, {"ns", "r00001"}, {"ñandú", "🐟\x00\xff"},
		{strings.Repeat("n", 47), strings.Repeat("i", 48)}, {strings.Repeat("n", 49), strings.Repeat("i", 512)},
	} {
		assert.Equal(t, ref(c[0], c[1]), primaryKey(c[0], c[1]), "%q", c)
	}
}

func TestAppendMetadataMatchesEncode(t *testing.T) {
	md := index.Metadata{"s": "a\"b\\c\n\x01é", "b": true, "i": int64(-7), "f": 3.0, "g": 1e-300, "l": []string{"x", ""}}
	b, err := encodeMetadata(md)
	require.NoError(t, err)
	assert.Equal(t, `{"b":true,"f":3.0,"g":1e-300,"i":-7,"l":["x",""],"s":"a\"b\\c\n\u0001é"}`, string(b))
	back, err := decodeMetadata(b)
	require.NoError(t, err)
	assert.Equal(t, md, back)
	pre := []byte("prefix")
	b2, err := appendMetadata(pre, md)
	require.NoError(t, err)
	assert.Equal(t, "prefix"+string(b), string(b2))
}
