package pineconetest

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/shoalhq/shoal/index"
)

// The fake reads UpsertRequest, the hot path of bulk loads, straight from
// the wire: decoding it into the client's generated types and then into
// records allocated several objects per metadata value, and on a machine the
// fake shares with the client under test, its garbage slowed the client
// down. Field numbers come from the client's registered descriptors, so the
// parser follows the client's own schema.

// rawMessage carries a message's wire bytes through rawCodec unparsed.
type rawMessage struct{ b []byte }

// rawCodec is the proto codec, except that a *rawMessage is passed through
// as bytes in both directions.
type rawCodec struct{ proto encoding.CodecV2 }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(r.b)}, nil
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawMessage); ok {
		r.b = data.Materialize()
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (rawCodec) Name() string { return "proto" }

// upsertSchema holds the field numbers of UpsertRequest and Vector.
type upsertSchema struct {
	vectors, namespace   protowire.Number // UpsertRequest
	id, values, metadata protowire.Number // Vector
	upsertedCount        protowire.Number // UpsertResponse
}

func newUpsertSchema(req, resp protoreflect.MessageDescriptor) (upsertSchema, error) {
	var err error
	num := func(md protoreflect.MessageDescriptor, name protoreflect.Name) protowire.Number {
		if err != nil {
			return 0
		}
		fd := md.Fields().ByName(name)
		if fd == nil {
			err = fmt.Errorf("%s has no field %s", md.FullName(), name)
			return 0
		}
		return fd.Number()
	}
	sc := upsertSchema{vectors: num(req, "vectors"), namespace: num(req, "namespace"), upsertedCount: num(resp, "upserted_count")}
	if err != nil {
		return sc, err
	}
	vec := req.Fields().ByName("vectors").Message()
	if vec == nil {
		return sc, fmt.Errorf("%s.vectors is not a message", req.FullName())
	}
	sc.id, sc.values, sc.metadata = num(vec, "id"), num(vec, "values"), num(vec, "metadata")
	return sc, err
}

// upsertVector is one decoded vector: Metadata in Shoal's form (numbers
// float64, lists []string), metaWire the size of its Struct on the wire.
type upsertVector struct {
	ID       string
	Values   []float32
	Metadata index.Metadata
	metaWire int
}

// parseUpsert decodes an UpsertRequest. Metadata that Pinecone rejects
// (null, nested objects, lists of non-strings:
// https://docs.pinecone.io/guides/data/understanding-metadata) is an error
// naming the key.
func (sc upsertSchema) parseUpsert(b []byte) (ns string, vs []upsertVector, err error) {
	err = eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == sc.namespace && typ == protowire.BytesType:
			ns = string(v)
		case num == sc.vectors && typ == protowire.BytesType:
			vec, err := sc.parseVector(v)
			if err != nil {
				return fmt.Errorf("vector %d: %w", len(vs), err)
			}
			vs = append(vs, vec)
		}
		return nil
	})
	return ns, vs, err
}

func (sc upsertSchema) parseVector(b []byte) (upsertVector, error) {
	var out upsertVector
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == sc.id && typ == protowire.BytesType:
			out.ID = string(v)
		case num == sc.values && typ == protowire.BytesType: // packed
			if len(v)%4 != 0 {
				return errors.New("packed values are not a whole number of floats")
			}
			vals := make([]float32, 0, len(out.Values)+len(v)/4)
			vals = append(vals, out.Values...)
			for ; len(v) > 0; v = v[4:] {
				x, _ := protowire.ConsumeFixed32(v)
				vals = append(vals, math.Float32frombits(x))
			}
			out.Values = vals
		case num == sc.values && typ == protowire.Fixed32Type: // unpacked
			x, _ := protowire.ConsumeFixed32(v)
			out.Values = append(out.Values, math.Float32frombits(x))
		case num == sc.metadata && typ == protowire.BytesType:
			md, err := parseStruct(v)
			if err != nil {
				return fmt.Errorf("id %q: %w", out.ID, err)
			}
			out.Metadata, out.metaWire = md, len(v)
		}
		return nil
	})
	return out, err
}

// parseStruct decodes a google.protobuf.Struct (field 1: map<string, Value>).
func parseStruct(b []byte) (index.Metadata, error) {
	md := index.Metadata{}
	err := eachField(b, func(num protowire.Number, typ protowire.Type, entry []byte) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		var key string
		var val any
		var verr error
		haveVal := false
		err := eachField(entry, func(num protowire.Number, typ protowire.Type, v []byte) error {
			switch {
			case num == 1 && typ == protowire.BytesType:
				key = string(v)
			case num == 2 && typ == protowire.BytesType:
				val, verr = parseValue(v)
				haveVal = true
			}
			return nil
		})
		switch {
		case err != nil:
			return err
		case !haveVal || verr == nil && val == nil:
			return fmt.Errorf("metadata %q: null is not allowed", key)
		case verr != nil:
			return fmt.Errorf("metadata %q: %w", key, verr)
		}
		md[key] = val
		return nil
	})
	if len(md) == 0 {
		md = nil
	}
	return md, err
}

// parseValue decodes a google.protobuf.Value: 1 null, 2 number, 3 string,
// 4 bool, 5 struct, 6 list (the last one set wins, as for any oneof; a
// field of the wrong wire type is unknown and skipped). A null gives
// (nil, nil).
func parseValue(b []byte) (any, error) {
	var out any
	var bad error
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			out, bad = nil, nil
		case num == 2 && typ == protowire.Fixed64Type:
			x, _ := protowire.ConsumeFixed64(v)
			out, bad = math.Float64frombits(x), nil
		case num == 3 && typ == protowire.BytesType:
			out, bad = string(v), nil
		case num == 4 && typ == protowire.VarintType:
			x, _ := protowire.ConsumeVarint(v)
			out, bad = x != 0, nil
		case num == 5 && typ == protowire.BytesType:
			out, bad = nil, errors.New("unsupported value map[string]interface {}")
		case num == 6 && typ == protowire.BytesType:
			ss := []string{}
			bad = eachField(v, func(num protowire.Number, typ protowire.Type, e []byte) error {
				if num != 1 || typ != protowire.BytesType {
					return nil
				}
				x, err := parseValue(e)
				s, ok := x.(string)
				if err != nil || !ok {
					return errors.New("lists must hold strings")
				}
				ss = append(ss, s)
				return nil
			})
			out = ss
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, bad
}

// eachField calls fn with each field of the message in b: for a
// length-delimited field its contents, for a fixed-size or varint field its
// encoded bytes.
func eachField(b []byte, fn func(protowire.Number, protowire.Type, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			x, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			v, n = x, m
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			v, n = b[:m], m
		}
		if err := fn(num, typ, v); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// upsertReply encodes an UpsertResponse.
func (sc upsertSchema) upsertReply(count int) *rawMessage {
	b := protowire.AppendTag(nil, sc.upsertedCount, protowire.VarintType)
	return &rawMessage{b: protowire.AppendVarint(b, uint64(count))}
}
