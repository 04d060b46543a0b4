package milvustest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The boolean expressions the fake evaluates: the subset of Milvus's
// grammar that backends/milvus emits. Anything else is rejected with an
// error (reported to the client as an invalid-parameter status), so a
// translator that drifts from the subset fails loudly instead of matching
// wrongly. The grammar is Milvus's internal/parser/planparserv2/Plan.g4
// (vendored in backends/milvus/internal/planparser, whose tests check every
// expression the Store sends against it):
//
//	expr    = or
//	or      = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | primary
//	primary = "(" expr ")" | "true" | "false"
//	        | "exists" expr
//	        | "json_contains" "(" operand "," literal ")"
//	        | operand cmp literal
//	        | operand "in" "[" literal { "," literal } "]"
//	        | operand
//	operand = field | field "[" string "]"
//	cmp     = "==" | "!=" | "<" | "<=" | ">" | ">="
//	literal = string | number | "true" | "false"
//
// Precedence of exists: in every 2.4 release and on the 2.5 branch before
// 2025-03-26, "EXISTS expr" is the last, loosest alternative of Plan.g4's
// expr rule, so exists takes everything to its right: `exists md["k"] and x`
// is exists(md["k"] and x), which Milvus refuses with "'and' can only be
// used between boolean expressions" (issue milvus-io/milvus#40837). 2.5
// after #40865 and master bind exists to the key alone. The fake follows
// the older rule, the stricter one: an expression it accepts means the same
// under both. As in Milvus's parser_visitor.go, and/or/not need boolean
// operands, and exists needs a lone JSON key.
//
// JSON keys (Milvus's getColumnInfoFromJSONIdentifier in parser_visitor.go
// and Json::pointer in internal/core/src/common/Json.h, 2.5 and master):
// the key's text between the quotes is not unescaped — only `\uXXXX` is
// replaced by its character (decodeUnicode, planparserv2/utils.go) — and it
// is looked up (simdjson on-demand at_pointer) by comparing it with the raw,
// still escaped, key text of the stored JSON. So `md["a\"b"]` finds the key
// written `"a\"b"` in the document, while a key whose escapes differ
// between the expression and the document (`\x01` vs `\u0001`) matches
// nothing. A key holding "][" is split there and refused, as Milvus does.
//
// Semantics on JSON: a missing key or a value of another type makes a
// comparison false, except != which it makes true (UnaryRangeJSONCompareNotEqual
// in internal/core/src/exec/expression/UnaryExpr.cpp, 2.5: "res[i] = true"
// when the value cannot be read as the literal's type); numbers compare by
// value whether int or float; json_contains is true when the value is an
// array holding the literal.

// Expr is a parsed boolean expression.
type Expr interface {
	// Eval reports whether the row matches; row maps field names to
	// values (string, int64, float64, bool, or a decoded JSON value).
	Eval(row map[string]any) bool
}

// ParseExpr parses expr against the given field names (JSON fields may be
// indexed with ["key"]). An empty expression matches every row.
func ParseExpr(expr string, fields map[string]FieldKind) (Expr, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return constExpr(true), nil
	}
	p := &parser{toks: toks, fields: fields}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.toks[p.pos].text, p.toks[p.pos].off)
	}
	if _, ok := e.(valueExpr); ok {
		return nil, fmt.Errorf("expression is not a boolean expression")
	}
	return e, nil
}

// FieldKind is the type of a field as the expression language sees it.
type FieldKind int

// Field kinds.
const (
	KindScalar FieldKind = iota // VarChar, Int64, Double, Bool
	KindJSON                    // a JSON field, indexable with ["key"]
)

type tokKind int

const (
	tIdent tokKind = iota
	tString
	tNumber
	tPunct
)

type token struct {
	kind tokKind
	text string // raw text; for strings, the unquoted value
	raw  string // for strings, the text between the quotes as written
	off  int
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at offset %d", i)
			}
			v, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("bad string literal at offset %d: %v", i, err)
			}
			toks = append(toks, token{tString, v, s[i+1 : j], i})
			i = j + 1
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				(s[j] == '+' || s[j] == '-') && (s[j-1] == 'e' || s[j-1] == 'E')) {
				j++
			}
			if _, err := strconv.ParseFloat(s[i:j], 64); err != nil {
				return nil, fmt.Errorf("bad number %q at offset %d", s[i:j], i)
			}
			toks = append(toks, token{kind: tNumber, text: s[i:j], off: i})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			toks = append(toks, token{kind: tIdent, text: s[i:j], off: i})
			i = j
		case strings.HasPrefix(s[i:], "==") || strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], ">=") || strings.HasPrefix(s[i:], "<="):
			toks = append(toks, token{kind: tPunct, text: s[i : i+2], off: i})
			i += 2
		case strings.IndexByte("()[],<>", c) >= 0:
			toks = append(toks, token{kind: tPunct, text: s[i : i+1], off: i})
			i++
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
		}
	}
	return toks, nil
}

type parser struct {
	toks   []token
	pos    int
	fields map[string]FieldKind
}

const maxDepth = 64

func (p *parser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *parser) isWord(w string) bool {
	t, ok := p.peek()
	return ok && t.kind == tIdent && t.text == w
}

func (p *parser) isPunct(w string) bool {
	t, ok := p.peek()
	return ok && t.kind == tPunct && t.text == w
}

func (p *parser) expect(w string) error {
	t, ok := p.peek()
	if !ok || t.text != w || t.kind == tString {
		return p.errorf("want %q", w)
	}
	p.pos++
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if t, ok := p.peek(); ok {
		return fmt.Errorf("%s at offset %d (found %q)", msg, t.off, t.text)
	}
	return fmt.Errorf("%s at end of expression", msg)
}

func (p *parser) or(depth int) (Expr, error) {
	if depth > maxDepth {
		return nil, p.errorf("expression nested too deeply")
	}
	e, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		p.pos++
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		if !isBool(e) || !isBool(r) {
			return nil, fmt.Errorf("'or' can only be used between boolean expressions")
		}
		e = orExpr{e, r}
	}
	return e, nil
}

func (p *parser) and(depth int) (Expr, error) {
	e, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		p.pos++
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		if !isBool(e) || !isBool(r) {
			return nil, fmt.Errorf("'and' can only be used between boolean expressions")
		}
		e = andExpr{e, r}
	}
	return e, nil
}

func (p *parser) unary(depth int) (Expr, error) {
	if p.isWord("not") {
		p.pos++
		if depth > maxDepth {
			return nil, p.errorf("expression nested too deeply")
		}
		e, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		if !isBool(e) {
			return nil, fmt.Errorf("not op can only be applied on boolean expression")
		}
		return notExpr{e}, nil
	}
	return p.primary(depth)
}

func (p *parser) primary(depth int) (Expr, error) {
	t, ok := p.peek()
	if !ok {
		return nil, p.errorf("want an expression")
	}
	if t.kind == tPunct && t.text == "(" {
		p.pos++
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		return e, p.expect(")")
	}
	if t.kind != tIdent {
		return nil, p.errorf("want an expression")
	}
	switch t.text {
	case "true", "false":
		p.pos++
		return constExpr(t.text == "true"), nil
	case "exists":
		// The loosest alternative (2.4; 2.5 before #40865): it takes the
		// whole expression to its right.
		p.pos++
		start := t.off
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		v, ok := e.(valueExpr)
		if !ok {
			return nil, fmt.Errorf("exists operations are only supported on single fields now, got the expression at offset %d", start)
		}
		if v.o.key == nil {
			return nil, fmt.Errorf("exists operations are only supportted on json key")
		}
		return existsExpr(v), nil
	case "json_contains":
		p.pos++
		if err := p.expect("("); err != nil {
			return nil, err
		}
		o, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		return containsExpr{o, lit}, p.expect(")")
	}
	o, err := p.operand()
	if err != nil {
		return nil, err
	}
	if p.isWord("in") {
		p.pos++
		if err := p.expect("["); err != nil {
			return nil, err
		}
		var lits []any
		for {
			lit, err := p.literal()
			if err != nil {
				return nil, err
			}
			lits = append(lits, lit)
			if p.isPunct(",") {
				p.pos++
				continue
			}
			break
		}
		return inExpr{o, lits}, p.expect("]")
	}
	op, ok := p.peek()
	if !ok || op.kind != tPunct || !strings.Contains(" == != < <= > >= ", " "+op.text+" ") {
		// A lone operand: a value, not a boolean expression.
		return valueExpr{o}, nil
	}
	p.pos++
	lit, err := p.literal()
	if err != nil {
		return nil, err
	}
	return cmpExpr{o, op.text, lit}, nil
}

type operand struct {
	field string
	key   *string
}

func (o operand) value(row map[string]any) (any, bool) {
	v, ok := row[o.field]
	if !ok || v == nil {
		return nil, false
	}
	if o.key == nil {
		return v, true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	v, ok = m[*o.key]
	return v, ok && v != nil
}

func (p *parser) operand() (operand, error) {
	t, ok := p.peek()
	if !ok || t.kind != tIdent {
		return operand{}, p.errorf("want a field name")
	}
	kind, known := p.fields[t.text]
	if !known {
		return operand{}, p.errorf("unknown field %q", t.text)
	}
	p.pos++
	o := operand{field: t.text}
	if p.isPunct("[") {
		if kind != KindJSON {
			return operand{}, p.errorf("field %q is not JSON", t.text)
		}
		p.pos++
		k, ok := p.peek()
		if !ok || k.kind != tString {
			return operand{}, p.errorf("want a quoted key")
		}
		p.pos++
		// Milvus splits the identifier at "][" before it removes the
		// quotes, so such a key is cut in two and refused.
		if strings.Contains(k.raw, "][") {
			return operand{}, fmt.Errorf("json key must be enclosed in double quotes or single quotes: %q", k.raw[:strings.Index(k.raw, "][")])
		}
		key := decodeUnicode(k.raw)
		o.key = &key
		if err := p.expect("]"); err != nil {
			return operand{}, err
		}
	}
	return o, nil
}

func (p *parser) literal() (any, error) {
	t, ok := p.peek()
	if !ok {
		return nil, p.errorf("want a literal")
	}
	switch {
	case t.kind == tString:
		p.pos++
		return t.text, nil
	case t.kind == tNumber:
		p.pos++
		if !strings.ContainsAny(t.text, ".eE") {
			if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
				return n, nil
			}
		}
		f, _ := strconv.ParseFloat(t.text, 64)
		return f, nil
	case t.kind == tIdent && (t.text == "true" || t.text == "false"):
		p.pos++
		return t.text == "true", nil
	}
	return nil, p.errorf("want a literal")
}

// decodeUnicode replaces each `\uXXXX` with its character, as Milvus's
// decodeUnicode (internal/parser/planparserv2/utils.go, 2.5 and master) does
// to a JSON identifier — the only unescaping its keys get.
func decodeUnicode(s string) string {
	return unicodeEscape.ReplaceAllStringFunc(s, func(m string) string {
		code, _ := strconv.ParseInt(m[2:], 16, 32)
		return string(rune(code))
	})
}

var unicodeEscape = regexp.MustCompile(`\\u[0-9a-fA-F]{4}`)

// valueExpr is a lone operand: a value, which and, or, not and the whole
// expression refuse; exists takes it.
type valueExpr struct{ o operand }

func (valueExpr) Eval(map[string]any) bool { return false }

func isBool(e Expr) bool {
	_, v := e.(valueExpr)
	return !v
}

type constExpr bool

func (c constExpr) Eval(map[string]any) bool { return bool(c) }

type andExpr struct{ l, r Expr }

func (e andExpr) Eval(row map[string]any) bool { return e.l.Eval(row) && e.r.Eval(row) }

type orExpr struct{ l, r Expr }

func (e orExpr) Eval(row map[string]any) bool { return e.l.Eval(row) || e.r.Eval(row) }

type notExpr struct{ e Expr }

func (e notExpr) Eval(row map[string]any) bool { return !e.e.Eval(row) }

type existsExpr struct{ o operand }

func (e existsExpr) Eval(row map[string]any) bool {
	_, ok := e.o.value(row)
	return ok
}

type containsExpr struct {
	o   operand
	lit any
}

func (e containsExpr) Eval(row map[string]any) bool {
	v, ok := e.o.value(row)
	if !ok {
		return false
	}
	arr, ok := v.([]any)
	if !ok {
		return false
	}
	for _, el := range arr {
		if c, ok := compare(el, e.lit); ok && c == 0 {
			return true
		}
	}
	return false
}

type inExpr struct {
	o    operand
	lits []any
}

func (e inExpr) Eval(row map[string]any) bool {
	v, ok := e.o.value(row)
	if !ok {
		return false
	}
	for _, l := range e.lits {
		if c, ok := compare(v, l); ok && c == 0 {
			return true
		}
	}
	return false
}

type cmpExpr struct {
	o   operand
	op  string
	lit any
}

func (e cmpExpr) Eval(row map[string]any) bool {
	// A missing key, or a value of another type, makes != true and every
	// other comparison false (UnaryExpr.cpp, UnaryRangeJSONCompareNotEqual).
	v, ok := e.o.value(row)
	if !ok {
		return e.op == "!="
	}
	c, ok := compare(v, e.lit)
	if !ok {
		return e.op == "!="
	}
	if _, isBool := v.(bool); isBool && e.op != "==" && e.op != "!=" {
		return false
	}
	switch e.op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

// compare orders a stored value against a literal: ok is false when they
// are of different types (or the value is an array or object), as in
// Milvus, where such comparisons are false. Bools only compare equal or not.
func compare(v, lit any) (int, bool) {
	switch x := v.(type) {
	case string:
		y, ok := lit.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	case bool:
		y, ok := lit.(bool)
		if !ok {
			return 0, false
		}
		if x == y {
			return 0, true
		}
		return 1, true
	}
	a, ok1 := toFloat(v)
	b, ok2 := toFloat(lit)
	if !ok1 || !ok2 {
		return 0, false
	}
	switch {
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	}
	return 0, true
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	}
	return 0, false
}

// DecodeJSON decodes a JSON field's bytes as the evaluator sees them:
// numbers as json.Number, and object keys as their raw text in b (between
// the quotes, escapes kept: `{"a\"b":1}` has the key `a\"b`), because Milvus
// compares an expression's key with the stored key's raw text (see
// [ParseExpr]).
func DecodeJSON(b []byte) (any, error) {
	if !json.Valid(b) {
		return nil, fmt.Errorf("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeRaw(dec, b)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

// decodeRaw decodes the next value of dec, which reads b, keeping object
// keys as raw text.
func decodeRaw(dec *json.Decoder, b []byte) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		m := map[string]any{}
		for dec.More() {
			start := dec.InputOffset()
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			// b[start:end] is the key with what separated it from the
			// previous token (white space, a comma).
			end := dec.InputOffset()
			seg := b[start:end]
			q := bytes.IndexByte(seg, '"')
			if q < 0 || len(seg) < q+2 {
				return nil, fmt.Errorf("malformed object key at offset %d", start)
			}
			v, err := decodeRaw(dec, b)
			if err != nil {
				return nil, err
			}
			m[string(seg[q+1:len(seg)-1])] = v
		}
		_, err := dec.Token()
		return m, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := decodeRaw(dec, b)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return tok, nil
}
