package pineconetest

import (
	"encoding/json"
	"fmt"
	"sort"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/index"
)

// compileFilter turns a Pinecone metadata filter into a predicate with
// Pinecone's semantics: $ne and $nin also match records that lack the field;
// on a list field $eq/$in match when any element matches and $ne/$nin when
// none does; numbers compare as float64. The operators and their operand
// types ($eq/$ne: number, string, boolean; $gt/$gte/$lt/$lte: number;
// $in/$nin: strings or numbers; $exists: boolean; $and/$or) follow
// https://docs.pinecone.io/guides/search/filter-by-metadata.
func compileFilter(f map[string]any) (func(index.Metadata) bool, error) {
	if len(f) == 0 {
		return func(index.Metadata) bool { return true }, nil
	}
	return compileObject(f, 0)
}

func compileObject(f map[string]any, depth int) (func(index.Metadata) bool, error) {
	if depth > 32 {
		return nil, fmt.Errorf("filter nested too deep")
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var preds []func(index.Metadata) bool
	for _, k := range keys {
		v := f[k]
		switch k {
		case "$and", "$or":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("%s needs a non-empty array", k)
			}
			var subs []func(index.Metadata) bool
			for _, e := range list {
				obj, ok := e.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s operand is %T, want an object", k, e)
				}
				p, err := compileObject(obj, depth+1)
				if err != nil {
					return nil, err
				}
				subs = append(subs, p)
			}
			and := k == "$and"
			preds = append(preds, func(md index.Metadata) bool {
				for _, p := range subs {
					if p(md) != and {
						return !and
					}
				}
				return and
			})
		default:
			if len(k) > 0 && k[0] == '$' {
				return nil, fmt.Errorf("unknown operator %s", k)
			}
			p, err := compileField(k, v)
			if err != nil {
				return nil, err
			}
			preds = append(preds, p)
		}
	}
	return func(md index.Metadata) bool {
		for _, p := range preds {
			if !p(md) {
				return false
			}
		}
		return true
	}, nil
}

func compileField(field string, v any) (func(index.Metadata) bool, error) {
	ops, ok := v.(map[string]any)
	if !ok {
		ops = map[string]any{"$eq": v}
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("field %q: empty condition", field)
	}
	var preds []func(index.Metadata) bool
	for op, arg := range ops {
		p, err := compileOp(field, op, arg)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	return func(md index.Metadata) bool {
		for _, p := range preds {
			if !p(md) {
				return false
			}
		}
		return true
	}, nil
}

func scalarOK(v any) bool {
	switch v.(type) {
	case string, bool, float64:
		return true
	}
	return false
}

func contains(stored, want any) bool {
	if list, ok := stored.([]string); ok {
		s, ok := want.(string)
		if !ok {
			return false
		}
		for _, e := range list {
			if e == s {
				return true
			}
		}
		return false
	}
	return stored == want
}

func compileOp(field, op string, arg any) (func(index.Metadata) bool, error) {
	switch op {
	case "$eq", "$ne":
		if !scalarOK(arg) {
			return nil, fmt.Errorf("%s %q: value %T must be a string, number or boolean", op, field, arg)
		}
		ne := op == "$ne"
		return func(md index.Metadata) bool {
			v, ok := md[field]
			if !ok {
				return ne
			}
			return contains(v, arg) != ne
		}, nil
	case "$in", "$nin":
		list, ok := arg.([]any)
		if !ok || len(list) == 0 {
			return nil, fmt.Errorf("%s %q: needs a non-empty array", op, field)
		}
		for _, e := range list {
			switch e.(type) {
			case string, float64:
			default:
				return nil, fmt.Errorf("%s %q: element %T must be a string or number", op, field, e)
			}
		}
		nin := op == "$nin"
		return func(md index.Metadata) bool {
			v, ok := md[field]
			if !ok {
				return nin
			}
			for _, e := range list {
				if contains(v, e) {
					return !nin
				}
			}
			return nin
		}, nil
	case "$gt", "$gte", "$lt", "$lte":
		y, ok := arg.(float64)
		if !ok {
			return nil, fmt.Errorf("%s %q: value %T must be a number", op, field, arg)
		}
		return func(md index.Metadata) bool {
			x, ok := md[field].(float64)
			if !ok {
				return false
			}
			switch op {
			case "$gt":
				return x > y
			case "$gte":
				return x >= y
			case "$lt":
				return x < y
			}
			return x <= y
		}, nil
	case "$exists":
		want, ok := arg.(bool)
		if !ok {
			return nil, fmt.Errorf("$exists %q: value must be a boolean", field)
		}
		return func(md index.Metadata) bool {
			_, ok := md[field]
			return ok == want
		}, nil
	}
	return nil, fmt.Errorf("field %q: unknown operator %s", field, op)
}

// MatchFilter evaluates a Pinecone metadata filter against metadata stored
// by the fake (numbers float64, lists []string) with Pinecone's semantics:
// $ne and $nin match records without the field; $eq/$in on a list match
// when an element does. A nil or empty filter matches everything. It
// reports a malformed filter as an error, as Pinecone would (InvalidArgument).
func MatchFilter(filter *structpb.Struct, md index.Metadata) (bool, error) {
	var m map[string]any
	if filter != nil {
		b, err := protojson.Marshal(filter)
		if err != nil {
			return false, err
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return false, err
		}
	}
	p, err := compileFilter(m)
	if err != nil {
		return false, err
	}
	return p(md), nil
}
