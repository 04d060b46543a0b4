// Package planparser parses Milvus boolean expressions with parsers
// generated from Milvus's own grammar (internal/parser/planparserv2/Plan.g4
// in github.com/milvus-io/milvus, Apache-2.0; see LICENSE and NOTICE in this
// folder), so that tests check what the Store sends against the server's
// grammar rather than against the fake's understanding of it.
//
// Two grammars are vendored, unchanged:
//
//   - [V25]: the 2.5 branch at commit 1602390734ce (2025-01-16), the grammar
//     of the 2.5 releases built before 2025-03-26. In it, as in every 2.4
//     release, "EXISTS expr" is the last (loosest) alternative, so
//     `exists md["k"] and x` parses as exists(md["k"] and x) — Milvus issue
//     #40837, fixed by #40864 (master) and #40865 (2.5) on 2025-03-26.
//   - [Master]: master at commit 7d0b8df0c3db (2026-04-16), where EXISTS binds
//     tightly (right after the primaries).
//
// Run `go generate` in this folder to regenerate the parsers (generate.sh).
package planparser

//go:generate sh generate.sh

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/antlr4-go/antlr/v4"

	"github.com/shoalhq/shoal/backends/milvus/internal/planparser/master"
	"github.com/shoalhq/shoal/backends/milvus/internal/planparser/v25"
)

// Grammar names a vendored Milvus grammar.
type Grammar int

// The vendored grammars.
const (
	// V25 is the 2.5 branch before the EXISTS precedence fix (the same
	// EXISTS rule as 2.4).
	V25 Grammar = iota
	// Master is Milvus master (2026-04).
	Master
)

// Grammars lists every vendored grammar.
var Grammars = []Grammar{V25, Master}

// String returns the grammar's name.
func (g Grammar) String() string {
	switch g {
	case V25:
		return "2.5"
	case Master:
		return "master"
	}
	return fmt.Sprintf("Grammar(%d)", int(g))
}

// errorListener records the first syntax error.
type errorListener struct {
	*antlr.DefaultErrorListener
	err error
}

func (l *errorListener) SyntaxError(_ antlr.Recognizer, _ any, line, column int, msg string, _ antlr.RecognitionException) {
	if l.err == nil {
		l.err = fmt.Errorf("syntax error at %d:%d: %s", line, column, msg)
	}
}

// Parse parses expr with grammar g as Milvus's planparserv2 does (rule
// expr) and returns the tree. Any lexer or parser error, and input left
// over after the expression, is an error.
func Parse(g Grammar, expr string) (antlr.ParseTree, error) {
	l := &errorListener{DefaultErrorListener: antlr.NewDefaultErrorListener()}
	in := antlr.NewInputStream(expr)
	var (
		tree antlr.ParseTree
		p    antlr.Parser
	)
	switch g {
	case V25:
		lex := v25.NewPlanLexer(in)
		lex.RemoveErrorListeners()
		lex.AddErrorListener(l)
		pp := v25.NewPlanParser(antlr.NewCommonTokenStream(lex, antlr.TokenDefaultChannel))
		pp.RemoveErrorListeners()
		pp.AddErrorListener(l)
		tree, p = pp.Expr(), pp
	case Master:
		lex := master.NewPlanLexer(in)
		lex.RemoveErrorListeners()
		lex.AddErrorListener(l)
		pp := master.NewPlanParser(antlr.NewCommonTokenStream(lex, antlr.TokenDefaultChannel))
		pp.RemoveErrorListeners()
		pp.AddErrorListener(l)
		tree, p = pp.Expr(), pp
	default:
		return nil, fmt.Errorf("unknown grammar %d", int(g))
	}
	if l.err != nil {
		return nil, l.err
	}
	if t := p.GetCurrentToken(); t.GetTokenType() != antlr.TokenEOF {
		return nil, fmt.Errorf("input left after the expression at offset %d: %q", t.GetStart(), t.GetText())
	}
	return tree, nil
}

// Shape renders a parse tree by the labels of its alternatives (the
// "# Label" names in Plan.g4), e.g. `LogicalAnd(Parens(Exists(JSONIdentifier)), Unary(…))`;
// tokens are left out.
func Shape(t antlr.Tree) string {
	var b strings.Builder
	writeShape(&b, t)
	return b.String()
}

func writeShape(b *strings.Builder, t antlr.Tree) {
	if _, ok := t.(antlr.TerminalNode); ok {
		return
	}
	name := reflect.TypeOf(t).Elem().Name()
	b.WriteString(strings.TrimSuffix(name, "Context"))
	var kids []antlr.Tree
	for _, c := range t.GetChildren() {
		if _, ok := c.(antlr.TerminalNode); !ok {
			kids = append(kids, c)
		}
	}
	if len(kids) == 0 {
		return
	}
	b.WriteByte('(')
	for i, c := range kids {
		if i > 0 {
			b.WriteString(", ")
		}
		writeShape(b, c)
	}
	b.WriteByte(')')
}

// JSONIdentifiers returns the text of every JSONIdentifier token in t (such
// as `md["k"]`), in order.
func JSONIdentifiers(t antlr.Tree) []string {
	var out []string
	var walk func(antlr.Tree)
	walk = func(t antlr.Tree) {
		if n, ok := t.(antlr.TerminalNode); ok {
			if jsonIdentifier.MatchString(n.GetText()) {
				out = append(out, n.GetText())
			}
			return
		}
		for _, c := range t.GetChildren() {
			walk(c)
		}
	}
	walk(t)
	return out
}

// jsonIdentifier matches a JSONIdentifier token (Plan.g4:
// `(Identifier | Meta)('[' (StringLiteral | DecimalConstant) ']')+`).
var jsonIdentifier = regexp.MustCompile(`^(?s)(?:[A-Za-z_][A-Za-z0-9_]*|\$meta)\[.*\]$`)

var unicodeEscape = regexp.MustCompile(`\\u[0-9a-fA-F]{4}`)

// NestedPath returns the JSON path Milvus takes from a JSONIdentifier's text,
// as getColumnInfoFromJSONIdentifier does (internal/parser/planparserv2/
// parser_visitor.go, the same in 2.5 and master): decodeUnicode (utils.go)
// replaces each `\uXXXX` with its character, the text after the field name
// is split at "][", each part is trimmed of '[' and ']' and its quotes are
// removed — with no other unescaping. The segment core then looks each key
// up by comparing it with the raw, still escaped, key text of the stored
// JSON (Json::pointer in internal/core/src/common/Json.h and simdjson's
// on-demand at_pointer, which matches keys without unescaping them).
func NestedPath(identifier string) (field string, path []string, err error) {
	identifier = unicodeEscape.ReplaceAllStringFunc(identifier, func(m string) string {
		code, _ := strconv.ParseInt(m[2:], 16, 32)
		return string(rune(code))
	})
	field = strings.Split(identifier, "[")[0]
	for _, part := range strings.Split(identifier[len(field):], "][") {
		p := strings.Trim(part, "[]")
		if len(p) >= 2 && (p[0] == '"' && p[len(p)-1] == '"' || p[0] == '\'' && p[len(p)-1] == '\'') {
			p = p[1 : len(p)-1]
		} else if _, perr := strconv.ParseInt(p, 10, 64); perr != nil {
			return "", nil, fmt.Errorf("json key must be enclosed in double quotes or single quotes: %q", p)
		}
		if p == "" {
			return "", nil, fmt.Errorf("invalid identifier: %s", identifier)
		}
		path = append(path, p)
	}
	return field, path, nil
}
