package config

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// nodeBudget bounds how many nodes one parse may visit. YAML aliases can
// make a small file expand into a huge tree ("billion laughs"); a real
// config visits a few thousand nodes at most.
const nodeBudget = 200_000

// maxErrors bounds the error list so a garbage file gives a readable answer.
const maxErrors = 200

// parser walks a yaml.Node tree, collecting errors and warnings with their
// positions. It never stops at the first problem.
type parser struct {
	file      string
	dir       string // directory relative paths in the config are resolved against
	v1        bool   // a version 1 file (read with its permissions converted)
	lookupEnv func(string) (string, bool)
	errs      []Error
	warns     []Warning
	budget    int
	exhausted bool // budget used up: the walk stopped early
	truncated bool // more than maxErrors errors

	// references checked after the walk, once every realm and role is known
	pendingRoles, pendingRealms []roleRef
	// auth sections offering tls, checked against their transport's endpoint
	tlsAuth []tlsAuthRef
	// dynamic auth methods' effective timeouts, checked against hello_timeout
	dynTimeouts []dynTimeout
}

func (p *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		p.truncated = true
		return
	}
	e := Error{File: p.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

func (p *parser) warnf(n *yaml.Node, path, format string, args ...any) {
	w := Warning{File: p.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		w.Line, w.Col = n.Line, n.Column
	}
	p.warns = append(p.warns, w)
}

// sorted returns the errors and warnings in file order (cross-checks such
// as duplicate names are found after the walk).
func (p *parser) sorted() ([]Error, []Warning) {
	sort.SliceStable(p.errs, func(i, j int) bool {
		a, b := p.errs[i], p.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	sort.SliceStable(p.warns, func(i, j int) bool {
		a, b := p.warns[i], p.warns[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	if p.exhausted {
		p.errs = append(p.errs, Error{File: p.file, Msg: fmt.Sprintf("config too large: more than %d nodes after alias expansion; stopped checking", nodeBudget)})
	}
	if p.truncated {
		p.errs = append(p.errs, Error{File: p.file, Msg: fmt.Sprintf("more than %d errors; stopped listing them", maxErrors)})
	}
	return p.errs, p.warns
}

// resolve follows aliases and charges the node budget. It returns nil once
// the budget is used up (the error is reported once).
func (p *parser) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return nil
	}
	p.budget--
	if p.budget < 0 {
		p.exhausted = true
		return nil
	}
	return n
}

// describe names a node's type for "must be X, got Y" messages.
func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "string " + strconv.Quote(n.Value)
		case "!!int":
			return "integer " + n.Value
		case "!!float":
			return "number " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		case "!!null":
			return "null"
		}
		return n.ShortTag() + " " + strconv.Quote(n.Value)
	}
	return "an unexpected YAML node"
}

var plainKey = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_\-$]*$`)

// join appends a mapping key to a path: a.b, or a["odd key"].
func join(path, key string) string {
	if !plainKey.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

type field struct {
	name     string
	key, val *yaml.Node
	used     bool
}

// mapping is a YAML mapping being consumed key by key; done reports every
// key nobody asked for.
type mapping struct {
	p      *parser
	n      *yaml.Node
	path   string
	fields []*field
}

// mapping returns n as a mapping, or nil (after reporting) if it is not one.
func (p *parser) mapping(n *yaml.Node, path string) *mapping {
	n = p.resolve(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "must be a mapping, got %s", describe(n))
		return nil
	}
	m := &mapping{p: p, n: n, path: path}
	seen := map[string]bool{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		kr := p.resolve(k)
		if kr == nil {
			continue
		}
		if kr.Kind != yaml.ScalarNode {
			p.errorf(kr, path, "mapping keys must be strings, got %s", describe(kr))
			continue
		}
		if seen[kr.Value] {
			p.errorf(kr, join(path, kr.Value), "duplicate key %q", kr.Value)
			continue
		}
		seen[kr.Value] = true
		m.fields = append(m.fields, &field{name: kr.Value, key: kr, val: v})
	}
	// YAML merge keys (<<: *anchor): merged entries never override explicit ones.
	for _, mv := range merges {
		mv = p.resolve(mv)
		if mv == nil {
			continue
		}
		srcs := []*yaml.Node{mv}
		if mv.Kind == yaml.SequenceNode {
			srcs = mv.Content
		}
		for _, src := range srcs {
			src = p.resolve(src)
			if src == nil {
				continue
			}
			if src.Kind != yaml.MappingNode {
				p.errorf(src, path, "merge key (<<) must refer to a mapping, got %s", describe(src))
				continue
			}
			for i := 0; i+1 < len(src.Content); i += 2 {
				k := p.resolve(src.Content[i])
				if k == nil || k.Kind != yaml.ScalarNode || seen[k.Value] {
					continue
				}
				seen[k.Value] = true
				m.fields = append(m.fields, &field{name: k.Value, key: k, val: src.Content[i+1]})
			}
		}
	}
	return m
}

func (m *mapping) lookup(key string) *field {
	for _, f := range m.fields {
		if f.name == key {
			return f
		}
	}
	return nil
}

// has reports whether key is present (without consuming it).
func (m *mapping) has(key string) bool { return m.lookup(key) != nil }

// get consumes key and returns its value node and path; nil if absent.
func (m *mapping) get(key string) (*yaml.Node, string) {
	f := m.lookup(key)
	if f == nil {
		return nil, join(m.path, key)
	}
	f.used = true
	return f.val, join(m.path, key)
}

// need is get for a required key: absence is reported at the mapping.
func (m *mapping) need(key string) (*yaml.Node, string) {
	v, path := m.get(key)
	if v == nil {
		m.p.errorf(m.n, m.path, "missing required key %q", key)
	}
	return v, path
}

// keyNode returns the key node of key (for positioning messages).
func (m *mapping) keyNode(key string) *yaml.Node {
	if f := m.lookup(key); f != nil {
		return f.key
	}
	return m.n
}

// ignore consumes key and warns that it is accepted but has no effect.
func (m *mapping) ignore(key, why string) {
	if f := m.lookup(key); f != nil {
		f.used = true
		m.p.warnf(f.key, join(m.path, key), "ignored: %s", why)
	}
}

// unsupported consumes key and reports it as an error.
func (m *mapping) unsupported(key, why string) {
	if f := m.lookup(key); f != nil {
		f.used = true
		m.p.errorf(f.key, join(m.path, key), "not supported by Tollgate: %s", why)
	}
}

// done reports every key that was not consumed, once: a mapping read by
// two functions (a websocket transport is also its own websocket item)
// reports each unknown key once.
func (m *mapping) done() {
	for _, f := range m.fields {
		if !f.used {
			f.used = true
			m.p.errorf(f.key, m.path, "unknown key %q", f.name)
		}
	}
}

// doneLenient is done for the mappings where Crossbar ignores unknown keys
// (realms and roles): they are warned about, not refused. what names the
// mapping in the message.
func (m *mapping) doneLenient(what string) {
	for _, f := range m.fields {
		if !f.used {
			f.used = true
			m.p.warnf(f.key, m.path, "ignored: unknown key %q on a %s (Crossbar ignores it too; check the spelling)", f.name, what)
		}
	}
}

// each calls fn for every entry, in file order, consuming them all.
func (m *mapping) each(fn func(key string, keyNode, val *yaml.Node, path string)) {
	for _, f := range m.fields {
		f.used = true
		fn(f.name, f.key, f.val, join(m.path, f.name))
	}
}

// seq returns the items of a list, or nil (after reporting) if n is not one.
func (p *parser) seq(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	n = p.resolve(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, path, "must be a list, got %s", describe(n))
		return nil, false
	}
	return n.Content, true
}

// scalar resolves n and checks it has the given tag.
func (p *parser) scalar(n *yaml.Node, path, tag, what string) (*yaml.Node, bool) {
	n = p.resolve(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != tag {
		hint := ""
		if tag == "!!str" && n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
			hint = " (quote it)"
		}
		p.errorf(n, path, "must be %s, got %s%s", what, describe(n), hint)
		return nil, false
	}
	return n, true
}

func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	s, ok := p.scalar(n, path, "!!str", "a string")
	if !ok {
		return "", false
	}
	return s.Value, true
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	s, ok := p.scalar(n, path, "!!bool", "true or false")
	if !ok {
		return false, false
	}
	var b bool
	if err := s.Decode(&b); err != nil {
		p.errorf(s, path, "must be true or false, got %s", describe(s))
		return false, false
	}
	return b, true
}

// integer reads an integer in [lo, hi].
func (p *parser) integer(n *yaml.Node, path string, lo, hi int64) (int, bool) {
	n = p.resolve(n)
	if n == nil {
		return 0, false
	}
	rangeMsg := fmt.Sprintf("an integer %d-%d", lo, hi)
	if hi == math.MaxInt32 {
		rangeMsg = fmt.Sprintf("an integer >= %d", lo)
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.errorf(n, path, "must be %s, got %s", rangeMsg, describe(n))
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil || v < lo || v > hi {
		p.errorf(n, path, "must be %s, got %s", rangeMsg, n.Value)
		return 0, false
	}
	return int(v), true
}

// duration reads a positive duration: an integer in unit (unitName in
// messages), or a string with its own unit as time.ParseDuration reads it
// ("1500ms", "5s", "2m").
func (p *parser) duration(n *yaml.Node, path string, unit time.Duration, unitName string) (time.Duration, bool) {
	n = p.resolve(n)
	if n == nil {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		d, err := time.ParseDuration(n.Value)
		switch {
		case err != nil:
			p.errorf(n, path, "must be an integer (%s) or a duration such as \"5s\", got %q", unitName, n.Value)
			return 0, false
		case d <= 0:
			p.errorf(n, path, "must be positive, got %q", n.Value)
			return 0, false
		}
		return d, true
	}
	limit := int64(math.MaxInt64 / unit)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.errorf(n, path, "must be an integer (%s) or a duration such as \"5s\", got %s", unitName, describe(n))
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil || v < 1 || v > limit {
		p.errorf(n, path, "must be a positive integer (%s), got %s", unitName, n.Value)
		return 0, false
	}
	return time.Duration(v) * unit, true
}

// strList reads a list of strings.
func (p *parser) strList(n *yaml.Node, path string) ([]string, bool) {
	items, ok := p.seq(n, path)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	all := true
	for i, it := range items {
		s, ok := p.str(it, index(path, i))
		if !ok {
			all = false
			continue
		}
		out = append(out, s)
	}
	return out, all
}

// oneOf reads a string that must be one of choices.
func (p *parser) oneOf(n *yaml.Node, path string, choices ...string) (string, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return "", false
	}
	for _, c := range choices {
		if s == c {
			return s, true
		}
	}
	p.errorf(n, path, "must be one of %s, got %q", quoteList(choices), s)
	return "", false
}

func quoteList(xs []string) string {
	out := ""
	for i, x := range xs {
		switch {
		case i == 0:
		case i == len(xs)-1:
			out += " or "
		default:
			out += ", "
		}
		out += strconv.Quote(x)
	}
	return out
}
