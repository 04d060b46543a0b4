package pinecone

import (
	"encoding/json"
	"fmt"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/index"
)

// maxExactInt is the largest integer a JSON/protobuf double holds exactly.
const maxExactInt = 1 << 53

// Field numbers of the data plane's UpsertRequest and Vector messages
// (db_data_2025-10.proto in go-pinecone v5, which the client registers;
// TestWireSizeMatchesClient checks them against its descriptors).
const (
	upsertVectorsField protowire.Number = 1 // UpsertRequest.vectors
	upsertNSField      protowire.Number = 2 // UpsertRequest.namespace
	vectorIDField      protowire.Number = 1 // Vector.id
	vectorValuesField  protowire.Number = 2 // Vector.values (packed floats)
	vectorMDField      protowire.Number = 3 // Vector.metadata (Struct)
)

// toStruct converts normalised metadata to the Struct the client sends:
// numbers become doubles, lists of strings ListValues of strings. An int64
// beyond ±2^53 cannot be stored exactly (Pinecone keeps numbers as
// doubles) and is rejected, naming the key; so is a type Normalize does not
// produce. Empty metadata gives nil.
func toStruct(md index.Metadata) (*structpb.Struct, error) {
	if len(md) == 0 {
		return nil, nil
	}
	fields := make(map[string]*structpb.Value, len(md))
	for k, v := range md {
		switch x := v.(type) {
		case string:
			fields[k] = structpb.NewStringValue(x)
		case bool:
			fields[k] = structpb.NewBoolValue(x)
		case float64:
			fields[k] = structpb.NewNumberValue(x)
		case int64:
			if x > maxExactInt || x < -maxExactInt {
				return nil, fmt.Errorf("%w: key %q: integer %d is beyond ±2^53 and Pinecone stores numbers as doubles", index.ErrInvalidMetadata, k, x)
			}
			fields[k] = structpb.NewNumberValue(float64(x))
		case []string:
			list := make([]*structpb.Value, len(x))
			for i, e := range x {
				list[i] = structpb.NewStringValue(e)
			}
			fields[k] = structpb.NewListValue(&structpb.ListValue{Values: list})
		default:
			return nil, fmt.Errorf("%w: key %q: unsupported type %T", index.ErrInvalidMetadata, k, v)
		}
	}
	return &structpb.Struct{Fields: fields}, nil
}

// vectorEntrySize is what one vector adds to an UpsertRequest on the wire:
// the Vector message (id, dim packed floats, metadata) with its field tag
// and length prefix. md's size is proto.Size's.
func vectorEntrySize(id string, dim int, md *structpb.Struct) int {
	n := protowire.SizeTag(vectorIDField) + protowire.SizeBytes(len(id))
	if dim > 0 {
		n += protowire.SizeTag(vectorValuesField) + protowire.SizeBytes(4*dim)
	}
	if md != nil {
		n += protowire.SizeTag(vectorMDField) + protowire.SizeBytes(proto.Size(md))
	}
	return protowire.SizeTag(upsertVectorsField) + protowire.SizeBytes(n)
}

// upsertFraming is the part of an UpsertRequest that is not its vectors:
// the namespace field (absent when empty).
func upsertFraming(namespace string) int {
	if namespace == "" {
		return 0
	}
	return protowire.SizeTag(upsertNSField) + protowire.SizeBytes(len(namespace))
}

// fromPineconeMetadata converts a Struct back: numbers come back as
// float64, lists as []string.
func fromPineconeMetadata(s *structpb.Struct) (index.Metadata, error) {
	if s == nil || len(s.Fields) == 0 {
		return nil, nil
	}
	out := make(index.Metadata, len(s.Fields))
	for k, v := range s.Fields {
		switch x := v.GetKind().(type) {
		case *structpb.Value_StringValue:
			out[k] = x.StringValue
		case *structpb.Value_BoolValue:
			out[k] = x.BoolValue
		case *structpb.Value_NumberValue:
			out[k] = x.NumberValue
		case *structpb.Value_ListValue:
			vals := x.ListValue.GetValues()
			ss := make([]string, len(vals))
			for i, e := range vals {
				s, ok := e.GetKind().(*structpb.Value_StringValue)
				if !ok {
					return nil, fmt.Errorf("%w: key %q: list element %d is not a string", index.ErrCorrupt, k, i)
				}
				ss[i] = s.StringValue
			}
			out[k] = ss
		default:
			return nil, fmt.Errorf("%w: key %q: unsupported value %T", index.ErrCorrupt, k, x)
		}
	}
	return out, nil
}

// metadataJSONSize is the size of md as JSON, the measure Pinecone applies
// its per-vector metadata limit to.
func metadataJSONSize(md index.Metadata) int {
	if len(md) == 0 {
		return 0
	}
	b, err := json.Marshal(map[string]any(md))
	if err != nil {
		return math.MaxInt
	}
	return len(b)
}

// translateFilter turns f into Pinecone's metadata filter, exactly: Shoal's
// Ne and NotIn match only records that have the field, while Pinecone's $ne
// and $nin also match records without it, so those become
// {"$and":[{f:{"$exists":true}},{f:{"$ne":v}}]}. Numbers become doubles
// (Shoal compares int64 and float64 by value too). The zero filter gives
// nil. An invalid filter is an ErrInvalidFilter error.
func translateFilter(f index.Filter) (*structpb.Struct, error) {
	if f.IsZero() {
		return nil, nil
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	m, err := filterMap(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", index.ErrInvalidFilter, err)
	}
	st, err := structpb.NewStruct(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", index.ErrInvalidFilter, err)
	}
	return st, nil
}

func filterMap(f index.Filter) (map[string]any, error) {
	switch f.Op {
	case index.OpAnd, index.OpOr:
		subs := make([]any, len(f.Filters))
		for i, c := range f.Filters {
			m, err := filterMap(c)
			if err != nil {
				return nil, err
			}
			subs[i] = m
		}
		return map[string]any{"$" + f.Op.String(): subs}, nil
	}
	if !utf8.ValidString(f.Field) {
		return nil, fmt.Errorf("%s: field %q is not valid UTF-8", f.Op, f.Field)
	}
	switch f.Op {
	case index.OpExists:
		return map[string]any{f.Field: map[string]any{"$exists": true}}, nil
	case index.OpEq, index.OpGt, index.OpGte, index.OpLt, index.OpLte:
		v, err := filterValue(f.Value)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %v", f.Op, f.Field, err)
		}
		return map[string]any{f.Field: map[string]any{"$" + f.Op.String(): v}}, nil
	case index.OpNe:
		v, err := filterValue(f.Value)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %v", f.Op, f.Field, err)
		}
		return existsAnd(f.Field, map[string]any{"$ne": v}), nil
	case index.OpIn, index.OpNotIn:
		vs := make([]any, len(f.Values))
		for i, x := range f.Values {
			v, err := filterValue(x)
			if err != nil {
				return nil, fmt.Errorf("%s %q: value %d: %v", f.Op, f.Field, i, err)
			}
			vs[i] = v
		}
		vs = dedupe(vs)
		if f.Op == index.OpIn {
			return map[string]any{f.Field: map[string]any{"$in": vs}}, nil
		}
		return existsAnd(f.Field, map[string]any{"$nin": vs}), nil
	}
	return nil, fmt.Errorf("operator %s cannot be translated", f.Op)
}

func existsAnd(field string, cond map[string]any) map[string]any {
	return map[string]any{"$and": []any{
		map[string]any{field: map[string]any{"$exists": true}},
		map[string]any{field: cond},
	}}
}

func filterValue(v any) (any, error) {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return nil, fmt.Errorf("string %q is not valid UTF-8", x)
		}
		return x, nil
	case bool, float64:
		return x, nil
	case int64:
		if x > maxExactInt || x < -maxExactInt {
			return nil, fmt.Errorf("integer %d is beyond ±2^53 and cannot be compared exactly as a double", x)
		}
		return float64(x), nil
	}
	return nil, fmt.Errorf("value of type %T cannot be translated", v)
}

// dedupe removes repeated values (an int64 3 and a float64 3 become one),
// keeping the first, so the filter stays small.
func dedupe(vs []any) []any {
	seen := map[any]bool{}
	out := vs[:0:0]
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
