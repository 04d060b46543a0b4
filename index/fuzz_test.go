package index_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/shoalhq/shoal/index"
)

// fuzzDecoder turns fuzz bytes into filters and metadata over a tiny
// vocabulary, so that fields and values collide often. Reading past the end
// yields zeros.
type fuzzDecoder struct {
	data []byte
	pos  int
}

func (d *fuzzDecoder) next() byte {
	if d.pos >= len(d.data) {
		return 0
	}
	b := d.data[d.pos]
	d.pos++
	return b
}

var (
	fuzzFields  = []string{"a", "b", "c"}
	fuzzStrings = []string{"x", "y", "z", "1", ""}
	fuzzNumbers = []float64{0, 1, -1, 2.5, 3, -0.5, 1e9}
)

func (d *fuzzDecoder) field() string {
	b := d.next()
	switch b % 32 {
	case 30:
		return "" // invalid
	case 31:
		return "$a" // invalid
	}
	return fuzzFields[int(b)%len(fuzzFields)]
}

func (d *fuzzDecoder) str() string { return fuzzStrings[int(d.next())%len(fuzzStrings)] }

func (d *fuzzDecoder) num() float64 { return fuzzNumbers[int(d.next())%len(fuzzNumbers)] }

// scalar returns a filter value: mostly valid, in several Go types the
// constructors canonicalise, sometimes invalid.
func (d *fuzzDecoder) scalar() any {
	switch d.next() % 10 {
	case 0, 1:
		return d.str()
	case 2:
		return d.next()%2 == 0
	case 3, 4:
		return int64(d.num())
	case 5, 6:
		return d.num()
	case 7:
		return int(d.num())
	case 8:
		return float32(d.num())
	default:
		return []any{nil, math.NaN(), math.Inf(1), []string{"x"}, struct{}{}, uint64(1)}[int(d.next())%6]
	}
}

// value returns a metadata value, of the types Normalize accepts and that
// Metadata.Number reads as numbers, or (rarely) nil.
func (d *fuzzDecoder) value() any {
	switch d.next() % 9 {
	case 0, 1:
		return d.str()
	case 2:
		return d.next()%2 == 0
	case 3:
		return int64(d.num())
	case 4:
		return d.num()
	case 5:
		return int(d.num())
	case 6:
		return float32(d.num())
	case 7:
		list := make([]string, d.next()%4)
		for i := range list {
			list[i] = d.str()
		}
		return list
	default:
		return nil
	}
}

func (d *fuzzDecoder) metadata() index.Metadata {
	md := index.Metadata{}
	for _, f := range fuzzFields {
		if d.next()%4 != 0 {
			md[f] = d.value()
		}
	}
	return md
}

func (d *fuzzDecoder) filter(depth int) index.Filter {
	op := index.Op(d.next() % 12)
	if depth >= 4 && (op == index.OpAnd || op == index.OpOr) {
		op = index.OpExists
	}
	switch op {
	case index.OpAll:
		return index.Filter{}
	case index.OpEq:
		return index.Eq(d.field(), d.scalar())
	case index.OpNe:
		return index.Ne(d.field(), d.scalar())
	case index.OpIn, index.OpNotIn:
		vs := make([]any, d.next()%4)
		for i := range vs {
			vs[i] = d.scalar()
		}
		if op == index.OpIn {
			return index.In(d.field(), vs...)
		}
		return index.NotIn(d.field(), vs...)
	case index.OpGt:
		return index.Gt(d.field(), d.scalar())
	case index.OpGte:
		return index.Gte(d.field(), d.scalar())
	case index.OpLt:
		return index.Lt(d.field(), d.scalar())
	case index.OpLte:
		return index.Lte(d.field(), d.scalar())
	case index.OpExists:
		return index.Exists(d.field())
	}
	fs := make([]index.Filter, d.next()%4)
	for i := range fs {
		fs[i] = d.filter(depth + 1)
	}
	if op == index.OpAnd {
		return index.And(fs...)
	}
	return index.Or(fs...)
}

// fuzzNumber reads a value as a number the way an independent reader would.
func fuzzNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	case float32:
		return float64(x), true
	}
	return 0, false
}

// eqOracle is an independent statement of equality between a stored value
// and a filter value.
func eqOracle(stored, want any) bool {
	switch x := stored.(type) {
	case []string:
		s, ok := want.(string)
		return ok && slices.Contains(x, s)
	case string:
		s, ok := want.(string)
		return ok && s == x
	case bool:
		b, ok := want.(bool)
		return ok && b == x
	}
	a, ok1 := fuzzNumber(stored)
	b, ok2 := fuzzNumber(want)
	return ok1 && ok2 && a == b
}

// checkFilterInvariants checks f (and every sub-filter) against md.
func checkFilterInvariants(t *testing.T, f index.Filter, md index.Metadata) {
	_ = f.String()
	err := f.Validate()
	got := f.Match(md) // never panics, valid or not
	if err != nil {
		if !errors.Is(err, index.ErrInvalidFilter) {
			t.Fatalf("Validate(%v) = %v, not an ErrInvalidFilter", f, err)
		}
		return
	}
	v, exists := md[f.Field]
	exists = exists && v != nil
	var want bool
	switch f.Op {
	case index.OpAll:
		want = true
	case index.OpEq:
		want = exists && eqOracle(v, f.Value)
	case index.OpNe:
		want = exists && !index.Eq(f.Field, f.Value).Match(md)
	case index.OpIn:
		eqs := make([]index.Filter, len(f.Values))
		for i, x := range f.Values {
			eqs[i] = index.Eq(f.Field, x)
		}
		want = index.Or(eqs...).Match(md)
	case index.OpNotIn:
		want = exists && !index.In(f.Field, f.Values...).Match(md)
	case index.OpGt, index.OpGte, index.OpLt, index.OpLte:
		x, isNum := fuzzNumber(v)
		y, _ := fuzzNumber(f.Value)
		if exists && isNum {
			want = map[index.Op]bool{index.OpGt: x > y, index.OpGte: x >= y, index.OpLt: x < y, index.OpLte: x <= y}[f.Op]
		}
		// Gte ≡ Gt ∨ Eq and Lte ≡ Lt ∨ Eq, for numbers.
		eq := index.Eq(f.Field, f.Value).Match(md)
		switch f.Op {
		case index.OpGte:
			if alt := index.Gt(f.Field, f.Value).Match(md) || eq; alt != got {
				t.Fatalf("%v = %v but gt ∨ eq = %v on %v", f, got, alt, md)
			}
		case index.OpLte:
			if alt := index.Lt(f.Field, f.Value).Match(md) || eq; alt != got {
				t.Fatalf("%v = %v but lt ∨ eq = %v on %v", f, got, alt, md)
			}
		}
	case index.OpExists:
		want = exists
	case index.OpAnd, index.OpOr:
		all, anyOf := true, false
		for _, c := range f.Filters {
			m := c.Match(md)
			all = all && m
			anyOf = anyOf || m
			checkFilterInvariants(t, c, md)
		}
		want = all
		if f.Op == index.OpOr {
			want = anyOf
		}
	}
	if got != want {
		t.Fatalf("%v.Match(%#v) = %v, want %v", f, md, got, want)
	}
	// Normalising metadata does not change what matches.
	if norm, err := md.Normalize(); err == nil {
		if m := f.Match(norm); m != got {
			t.Fatalf("%v matches %#v: %v, but its normalised form %#v: %v", f, md, got, norm, m)
		}
	}
}

func FuzzFilterMatch(f *testing.F) {
	for _, seed := range [][]byte{
		{},
		{1, 0, 0, 3, 1, 1, 1, 1, 1, 1},
		{10, 2, 0, 1, 9, 2, 5, 1, 3, 6, 0, 4, 4, 2, 5},
		{11, 3, 3, 0, 0, 0, 7, 1, 1, 4, 2, 8, 1, 1, 2, 3, 7, 2, 0, 1, 3, 0},
		{4, 3, 0, 0, 1, 3, 2, 5, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{6, 1, 4, 3, 2, 5, 6, 7, 8, 7, 1, 2, 3, 4, 5, 6},
		{10, 3, 10, 3, 11, 2, 1, 0, 9, 30, 31, 255, 254, 128, 64},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &fuzzDecoder{data: data}
		filter := d.filter(0)
		for range 3 {
			checkFilterInvariants(t, filter, d.metadata())
		}
	})
}

// anyValue returns a value of any type a caller might pass, valid or not.
func (d *fuzzDecoder) anyValue() any {
	b := d.next()
	n := d.num()
	switch b % 20 {
	case 0:
		return d.str()
	case 1:
		return string(d.data[min(d.pos, len(d.data)):]) // arbitrary bytes, maybe not UTF-8
	case 2:
		return b%2 == 0
	case 3:
		return int64(n)
	case 4:
		return n
	case 5:
		return int(n)
	case 6:
		return int32(n)
	case 7:
		return int16(n)
	case 8:
		return int8(n)
	case 9:
		return uint32(b)
	case 10:
		return uint16(b)
	case 11:
		return uint8(b)
	case 12:
		return float32(n)
	case 13:
		return []string{d.str(), string([]byte{d.next(), d.next()})}
	case 14:
		return math.Inf(int(b%3) - 1)
	case 15:
		return math.NaN()
	case 16:
		return uint64(b)
	case 17:
		return []int{int(b)}
	case 18:
		return map[string]any{"a": n}
	default:
		return nil
	}
}

func FuzzMetadataNormalize(f *testing.F) {
	for _, seed := range [][]byte{{}, {0, 1, 2, 3}, {1, 0xff, 0xfe, 2, 3, 13, 0xc3, 0x28}, {'$', 5, 6, 7, 8, 9, 10, 11, 12}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &fuzzDecoder{data: data}
		md := index.Metadata{}
		for range d.next() % 6 {
			key := string([]byte{d.next()})
			if d.next()%4 == 0 {
				key = "k" + key
			}
			md[key] = d.anyValue()
		}
		out, err := md.Normalize()
		if err != nil {
			if !errors.Is(err, index.ErrInvalidMetadata) || out != nil {
				t.Fatalf("Normalize(%#v) = %#v, %v", md, out, err)
			}
			return
		}
		if len(out) != len(md) {
			t.Fatalf("Normalize(%#v) = %#v: keys lost", md, out)
		}
		for k, v := range out {
			switch x := v.(type) {
			case string, bool, int64:
			case float64:
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("key %q: non-finite %v accepted", k, x)
				}
			case []string:
				if in, ok := md[k].([]string); !ok || !slices.Equal(in, x) {
					t.Fatalf("key %q: list %#v became %#v", k, md[k], x)
				}
				if len(x) > 0 && &x[0] == &md[k].([]string)[0] {
					t.Fatalf("key %q: list not copied", k)
				}
			default:
				t.Fatalf("key %q: Normalize left a %T", k, v)
			}
			if want, isNum := anyNumber(md[k]); isNum {
				if got, ok := out.Number(k); !ok || got != want {
					t.Fatalf("key %q: number %v (%T) became %v (%T)", k, md[k], md[k], out[k], out[k])
				}
			}
		}
		again, err := out.Normalize()
		if err != nil || !metadataIdentical(out, again) {
			t.Fatalf("Normalize is not idempotent: %#v then %#v, %v", out, again, err)
		}
	})
}

func metadataIdentical(a, b index.Metadata) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			return false
		}
		if l, isList := v.([]string); isList {
			m, ok := w.([]string)
			if !ok || !slices.Equal(l, m) {
				return false
			}
			continue
		}
		if v != w {
			return false
		}
	}
	return true
}

// anyNumber converts every numeric type Normalize accepts.
func anyNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	}
	return fuzzNumber(v)
}
