package config

import (
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate-wamp/tollgate/router"
)

// The connection edge's keys (docs/config.md "Connection and rate
// limits"): connection limits and login admission in the router worker's
// options, session and message rate limits in a realm's options.

// edgeOptions reads the worker options' edge keys into l.
func (p *parser) edgeOptions(om *mapping, l *Limits) {
	for _, k := range []struct {
		key string
		v   *int
	}{
		{"max_connections_per_ip", &l.MaxConnectionsPerIP},
		{"max_connections_per_listener", &l.MaxConnectionsPerListener},
		{"max_pending_logins", &l.MaxPendingLogins},
	} {
		if v, vp := om.get(k.key); v != nil {
			*k.v, _ = p.positive(v, vp)
		}
	}
	if v, vp := om.get("hello_rate_per_ip"); v != nil {
		l.HelloRatePerIP, _ = p.rate(v, vp, true)
	}
	if v, vp := om.get("hello_rate_per_authid"); v != nil {
		l.HelloRatePerAuthID, _ = p.rate(v, vp, true)
	}
}

// rate reads {rate: per second, burst: n}. rate 0 turns a limit with a
// default off (orOff), and is an error otherwise.
func (p *parser) rate(n *yaml.Node, path string, orOff bool) (router.Rate, bool) {
	m := p.mapping(n, path)
	if m == nil {
		return router.Rate{}, false
	}
	defer m.done()
	var r router.Rate
	rv, rp := m.need("rate")
	if rv == nil {
		return r, false
	}
	rv = p.resolve(rv)
	f, err := strconv.ParseFloat(rv.Value, 64)
	if rv.Kind != yaml.ScalarNode || (rv.ShortTag() != "!!int" && rv.ShortTag() != "!!float") || err != nil || f < 0 || math.IsInf(f, 0) {
		p.errorf(rv, rp, "must be a number of messages per second >= 0, got %s", describe(rv))
		return r, false
	}
	if f == 0 {
		if !orOff {
			p.errorf(rv, rp, "must be above 0 (leave the limit out for none)")
			return r, false
		}
		m.get("burst")
		return router.Rate{PerSecond: -1}, true // the router's "off"
	}
	r.PerSecond = f
	if bv, bp := m.get("burst"); bv != nil {
		r.Burst, _ = p.positive(bv, bp)
	}
	return r, true
}

// messageRates reads a realm's message_rate mapping.
func (p *parser) messageRates(n *yaml.Node, path string) router.MessageRates {
	var mr router.MessageRates
	m := p.mapping(n, path)
	if m == nil {
		return mr
	}
	for _, k := range []struct {
		key string
		r   *router.Rate
	}{{"session", &mr.Session}, {"authid", &mr.AuthID}, {"role", &mr.Role}} {
		if v, vp := m.get(k.key); v != nil {
			*k.r, _ = p.rate(v, vp, false)
		}
	}
	if v, vp := m.get("close_after"); v != nil {
		mr.CloseAfter, _ = p.positive(v, vp)
	}
	if v, vp := m.get("close_window"); v != nil {
		mr.CloseWindow, _ = p.duration(v, vp, 1e6, "milliseconds")
	}
	m.done()
	return mr
}

// realmEdgeOptions reads a realm's max_sessions, message_rate and
// message_rate_per_role.
func (p *parser) realmEdgeOptions(om *mapping, realm *router.RealmOptions) {
	if v, vp := om.get("max_sessions"); v != nil {
		realm.MaxSessions, _ = p.positive(v, vp)
	}
	if v, vp := om.get("message_rate"); v != nil {
		realm.MessageRates = p.messageRates(v, vp)
	}
	if v, vp := om.get("message_rate_per_role"); v != nil {
		if rm := p.mapping(v, vp); rm != nil {
			realm.RoleMessageRates = map[string]router.MessageRates{}
			rm.each(func(role string, _, val *yaml.Node, path string) {
				realm.RoleMessageRates[role] = p.messageRates(val, path)
			})
		}
	}
}

// preJoinSize reads a transport's max_message_size_before_join.
func (p *parser) preJoinSize(om *mapping, maxSize int64, dst *int) {
	if v, vp := om.get("max_message_size_before_join"); v != nil {
		*dst, _ = p.integer(v, vp, 512, maxSize)
	}
}
