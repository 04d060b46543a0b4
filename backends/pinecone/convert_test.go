package pinecone

import (
	"fmt"
	"strings"
	"testing"

	_ "github.com/pinecone-io/go-pinecone/v5/pinecone" // registers the data-plane descriptors
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/shoalhq/shoal/index"
)

// clientMessage makes an empty message of the client's generated type name.
func clientMessage(t *testing.T, name protoreflect.FullName) protoreflect.Message {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
	require.NoError(t, err)
	return mt.New()
}

func field(t *testing.T, m protoreflect.Message, name protoreflect.Name) protoreflect.FieldDescriptor {
	t.Helper()
	fd := m.Descriptor().Fields().ByName(name)
	require.NotNil(t, fd, "%s has no field %s", m.Descriptor().FullName(), name)
	return fd
}

// The sizes the Store splits upserts by are the sizes of the client's own
// UpsertRequest, built here through its registered generated types: the
// field numbers match its descriptors, and for every kind of record the
// request's proto.Size is the framing plus the vectors' entry sizes.
func TestWireSizeMatchesClient(t *testing.T) {
	t.Parallel()
	req, vec := clientMessage(t, "UpsertRequest"), clientMessage(t, "Vector")
	for name, num := range map[protoreflect.Name]protowire.Number{"vectors": upsertVectorsField, "namespace": upsertNSField} {
		assert.Equal(t, num, field(t, req, name).Number(), "UpsertRequest.%s", name)
	}
	for name, num := range map[protoreflect.Name]protowire.Number{"id": vectorIDField, "values": vectorValuesField, "metadata": vectorMDField} {
		assert.Equal(t, num, field(t, vec, name).Number(), "Vector.%s", name)
	}
	assert.True(t, field(t, vec, "values").IsPacked(), "values are packed")

	long := make([]string, 10_000)
	for i := range long {
		long[i] = fmt.Sprint(i % 10)
	}
	for _, tc := range []struct {
		ns  string
		dim int
		md  index.Metadata
	}{
		{"", 0, nil},
		{"ns", 1, index.Metadata{}},
		{strings.Repeat("n", 300), 1536, index.Metadata{"s": "x", "b": true, "f": -2.5, "i": int64(7), "l": []string{"a", ""}}},
		{"ñ", 8, index.Metadata{"tags": long, "big": strings.Repeat("é", 10_000)}},
	} {
		m := req.Type().New()
		want := upsertFraming(tc.ns)
		if tc.ns != "" {
			m.Set(field(t, m, "namespace"), protoreflect.ValueOfString(tc.ns))
		}
		list := m.Mutable(field(t, m, "vectors")).List()
		for i, id := range []string{"a", strings.Repeat("z", index.MaxIDLength), "ü"} {
			st, err := toStruct(tc.md)
			require.NoError(t, err)
			v := vec.Type().New()
			v.Set(field(t, v, "id"), protoreflect.ValueOfString(id))
			vals := v.Mutable(field(t, v, "values")).List()
			for j := range tc.dim {
				vals.Append(protoreflect.ValueOfFloat32(float32(i*j) + 0.5))
			}
			if st != nil {
				v.Set(field(t, v, "metadata"), protoreflect.ValueOfMessage(st.ProtoReflect()))
			}
			list.Append(protoreflect.ValueOfMessage(v))
			want += vectorEntrySize(id, tc.dim, st)
		}
		assert.Equal(t, proto.Size(m.Interface()), want, "namespace %q, dim %d, metadata of %d keys", tc.ns, tc.dim, len(tc.md))
	}
}
