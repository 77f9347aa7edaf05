package config

import (
	"errors"
	"math"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// defaultStoreLimit is the store's limit when the config gives none
// (Crossbar's global history limit).
const defaultStoreLimit = 100

// historyAt locates one kept event-history entry in the file, for the
// router's verdict on it.
type historyAt struct {
	entry, uri at
	file       int // index in the file's event-history list
}

// store reads a realm's Crossbar `store` section into realm.EventHistory.
// Every entry gets an explicit positive Limit (its own, else the store's,
// else 100). It returns where each kept entry is, by EventHistory index.
func (p *parser) store(n *yaml.Node, path string, realm *router.RealmOptions) []historyAt {
	m := p.mapping(n, path)
	if m == nil {
		return nil
	}
	defer m.done()
	tv, tp := m.need("type")
	typ, ok := "", false
	if tv != nil {
		typ, ok = p.str(tv, tp)
	}
	if ok && typ != "memory" {
		p.errorf(tv, tp, "store type %q is not supported: Tollgate keeps event history in memory only (use \"memory\")", typ)
		ok = false
	}
	if !ok {
		// The rest is meaningless without a usable type: consume it
		// unchecked rather than report it as unknown.
		consumeAll(m)
		return nil
	}
	m.ignore("call-queue", "calls are not queued: a call to a procedure nobody registered fails at once with wamp.error.no_such_procedure")
	limit := defaultStoreLimit
	if v, vp := m.get("limit"); v != nil {
		if l, good := p.integer(v, vp, 1, math.MaxInt32); good {
			limit = l
		}
	}
	v, vp := m.get("event-history")
	if v == nil {
		return nil
	}
	items, ok := p.seq(v, vp)
	if !ok {
		return nil
	}
	var where []historyAt
	for i, it := range items {
		ip := index(vp, i)
		h, uriNode, good := p.historyEntry(it, ip, limit)
		if !good {
			continue
		}
		realm.EventHistory = append(realm.EventHistory, h)
		where = append(where, historyAt{entry: at{it, ip}, uri: at{uriNode, join(ip, "uri")}, file: i})
	}
	return where
}

// historyEntry reads one event-history item: {uri, match?, limit?}.
func (p *parser) historyEntry(n *yaml.Node, path string, storeLimit int) (router.HistoryConfig, *yaml.Node, bool) {
	h := router.HistoryConfig{Match: wamp.MatchExact, Limit: storeLimit}
	m := p.mapping(n, path)
	if m == nil {
		return h, nil, false
	}
	defer m.done()
	ok := true
	uv, up := m.need("uri")
	if uv != nil {
		s, good := p.str(uv, up)
		h.URI = wamp.URI(s)
		ok = ok && good
	} else {
		ok = false
	}
	if v, vp := m.get("match"); v != nil {
		s, good := p.oneOf(v, vp, wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard)
		h.Match = s
		ok = ok && good
	}
	if v, vp := m.get("limit"); v != nil {
		l, good := p.integer(v, vp, 1, math.MaxInt32)
		h.Limit = l
		ok = ok && good
	}
	return h, uv, ok
}

// validateHistory checks the realm's event history with the router's own
// rule (router.ValidateEventHistory) and reports each problem at the entry
// it names, at the entry's uri when the URI is at fault.
func (p *parser) validateHistory(realm router.RealmOptions, where []historyAt, fallback at) {
	if len(realm.EventHistory) == 0 {
		return
	}
	err := router.ValidateEventHistory(realm)
	if err == nil {
		return
	}
	for _, e := range leafErrors(err) {
		var he *router.HistoryError
		if !errors.As(e, &he) || he.Index < 0 || he.Index >= len(where) {
			p.errorf(fallback.n, fallback.path, "%s", e)
			continue
		}
		pos, msg := where[he.Index].entry, he.Msg
		if he.Field == "uri" {
			pos = where[he.Index].uri
		}
		if he.First >= 0 && he.First < len(where) {
			msg += " (first at " + index("event-history", where[he.First].file) + ")"
		}
		p.errorf(pos.n, pos.path, "%s", msg)
	}
}

// leafErrors flattens errors joined with errors.Join.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// retainedEvents reads options.retained_events: any integer (0 = the
// router's default, negative = no retention).
func (p *parser) retainedEvents(n *yaml.Node, path string) (int, bool) {
	n = p.resolve(n)
	if n == nil {
		return 0, false
	}
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil || v < math.MinInt32 || v > math.MaxInt32 {
		p.errorf(n, path, "must be an integer (topics with a retained event; 0: default 10000, negative: no retention), got %s", describe(n))
		return 0, false
	}
	return int(v), true
}
