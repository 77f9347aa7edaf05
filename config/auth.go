package config

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// authMethods are the methods an auth section may configure, in the
// order the resulting []auth.MethodConfig is sorted (by name).
var authMethods = []string{auth.MethodAnonymous, auth.MethodCryptosign, auth.MethodTicket, auth.MethodTLS, auth.MethodWAMPCRA}

// at is a node and the config path to report a problem at.
type at struct {
	n    *yaml.Node
	path string
}

// positions maps the field paths a validator (package auth or authz) puts
// in its error messages, e.g. `principals["alice"].ticket` or
// `roles[0].permissions[1].uri`, to where that field is in the file.
type positions map[string]at

// set records a field's position.
func (ps positions) set(key string, n *yaml.Node, path string) { ps[key] = at{n, path} }

// nest records a list item's position at key and the positions of its
// fields, keyed relative to the item in sub, under key+".".
func (ps positions) nest(key string, n *yaml.Node, path string, sub positions) {
	ps.set(key, n, path)
	for k, a := range sub {
		ps[key+"."+k] = a
	}
}

// tlsAuthRef is an auth section offering tls, checked against its
// transport's endpoint (tls needs client certificates).
type tlsAuthRef at

// auth reads a transport's auth section into one auth.MethodConfig per
// method, sorted by method name, and validates the result with
// auth.NewSet, so a config that loads builds the same authenticators in the
// router. It returns nil if the section is unusable (errors reported).
func (p *parser) auth(n *yaml.Node, path string) []auth.MethodConfig {
	m := p.mapping(n, path)
	if m == nil {
		return nil
	}
	before := len(p.errs)
	for _, k := range []string{"scram", "anonymous-proxy", "cryptosign-proxy"} {
		m.unsupported(k, "auth method "+k+" is not implemented (supported: "+strings.Join(authMethods, ", ")+")")
	}
	m.ignore("cookie", "cookie authentication is not supported yet")
	// methods is the result; clean holds those without parse errors, which
	// auth.NewSet then checks (the others would only repeat the errors).
	var methods, clean []auth.MethodConfig
	pos := map[string]positions{} // by method
	keys := map[string]at{}       // method key, for errors about the method as a whole
	for _, name := range authMethods {
		v, vp := m.get(name)
		if v == nil {
			continue
		}
		keys[name] = at{m.keyNode(name), vp}
		ps := positions{}
		errs := len(p.errs)
		if mc, ok := p.authMethod(name, v, vp, ps); ok {
			methods = append(methods, mc)
			pos[name] = ps
			if len(p.errs) == errs {
				clean = append(clean, mc)
			}
		}
		if name == auth.MethodTLS {
			p.tlsAuth = append(p.tlsAuth, tlsAuthRef{m.keyNode(name), vp})
		}
	}
	for _, f := range m.fields {
		if !f.used {
			f.used = true
			p.errorf(f.key, path, "unknown auth method %q (supported: %s)", f.name, strings.Join(authMethods, ", "))
		}
	}
	if len(m.fields) == 0 {
		p.errorf(m.n, path, "empty auth section: leave it out for anonymous access, or configure a method")
		return nil
	}
	if _, err := auth.NewSet(clean, noCaller{}); err != nil {
		p.authErrors(err, pos, keys)
		return nil
	}
	if len(p.errs) != before {
		return nil
	}
	return methods
}

// noCaller stands in for the router when auth.NewSet and authz.NewRealm
// validate dynamic methods and roles at load time; nothing is called then.
type noCaller struct{}

func (noCaller) Call(context.Context, wamp.URI, wamp.URI, wamp.List, wamp.Dict) (wamp.List, wamp.Dict, error) {
	return nil, nil, errors.New("config: validation only, no router to call")
}

// authErrors reports auth.NewSet's errors at the fields they name. Each
// top-level error is one method's ("auth: ticket: ..."), wrapping the list
// of its field errors ("principals[\"alice\"].ticket: ...").
func (p *parser) authErrors(err error, pos map[string]positions, keys map[string]at) {
	for _, e := range unjoin(err) {
		msg := strings.TrimPrefix(e.Error(), "auth: ")
		method, _, _ := strings.Cut(msg, ":")
		method, _, _ = strings.Cut(method, " ")
		fallback, ok := keys[method]
		if !ok {
			p.errorf(nil, "", "%s", e.Error())
			continue
		}
		leaves := []error{e}
		if u := errors.Unwrap(e); u != nil {
			if _, joined := u.(interface{ Unwrap() []error }); joined {
				leaves = unjoin(u)
			}
		}
		for _, l := range leaves {
			text := l.Error()
			if l == e { // not a wrapped list: drop the "auth: ticket: " prefix
				text = msg[len(method):]
				text = strings.TrimPrefix(text, " dynamic")
				text = strings.TrimPrefix(text, ": ")
			}
			p.positioned(text, pos[method], fallback)
		}
	}
}

// unjoin flattens errors.Join lists; other errors are returned as they are.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// positioned reports a validator's message "FIELD: what" at FIELD's
// position (see locate).
func (p *parser) positioned(msg string, ps positions, fallback at) {
	where, rest := locate(msg, ps, fallback)
	p.errorf(where.n, where.path, "%s", rest)
}

// locate finds where a validator's message "FIELD: what" belongs: at the
// longest recorded prefix of FIELD, with the rest of the message; or at
// fallback with the whole message when no recorded field matches.
func locate(msg string, ps positions, fallback at) (at, string) {
	best := ""
	for k := range ps {
		if len(k) <= len(best) || !strings.HasPrefix(msg, k) {
			continue
		}
		if rest := msg[len(k):]; strings.HasPrefix(rest, ": ") || strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "[") {
			best = k
		}
	}
	if best == "" {
		return fallback, msg
	}
	return ps[best], strings.TrimPrefix(strings.TrimPrefix(msg[len(best):], ":"), " ")
}

// authMethod reads one method's mapping.
func (p *parser) authMethod(method string, n *yaml.Node, path string, ps positions) (auth.MethodConfig, bool) {
	mc := auth.MethodConfig{Method: method}
	m := p.mapping(n, path)
	if m == nil {
		return mc, false
	}
	mc.Type = p.authType(m, method)
	switch mc.Type {
	case auth.TypeDynamic:
		p.dynamic(m, &mc.Dynamic, ps)
	case auth.TypeStatic:
		switch method {
		case auth.MethodAnonymous:
			mc.Anonymous.Role = "anonymous"
			if v, vp := m.get("role"); v != nil {
				if s, ok := p.str(v, vp); ok {
					mc.Anonymous.Role = s
					p.roleRef(s, v, vp)
				}
			}
			mc.Anonymous.AuthID = p.optStr(m, "authid")
			m.ignore("realm", "the realm is the one the client asks for")
		case auth.MethodTicket:
			mc.Ticket.Principals = p.ticketPrincipals(m, ps)
		case auth.MethodWAMPCRA:
			mc.WAMPCRA.Users = p.wampcraUsers(m, ps)
			if v, vp := m.get("fake-salt-secret"); v != nil {
				mc.WAMPCRA.FakeSaltSecret, _ = p.secretAt(v, vp, "fake-salt-secret",
					"unknown authids get salts from a random per-process key, which change when the router restarts")
			}
			p.warnRecognisable(mc.WAMPCRA, ps)
		case auth.MethodCryptosign:
			m.unsupported("trustroots", "certificate trust roots (XBR) are not implemented; list principals with authorized_keys")
			if m.has("trustroots") && !m.has("principals") {
				break
			}
			mc.Cryptosign.Principals = p.cryptosignPrincipals(m, ps)
		case auth.MethodTLS:
			mc.TLS.Principals = p.tlsPrincipals(m, ps)
		}
	default:
		return mc, false
	}
	m.done()
	return mc, true
}

// authType reads the method's type; it returns "" on error.
func (p *parser) authType(m *mapping, method string) string {
	v, vp := m.need("type")
	if v == nil {
		return ""
	}
	s, ok := p.str(v, vp)
	if !ok {
		return ""
	}
	switch s {
	case auth.TypeStatic, auth.TypeDynamic:
		return s
	case "function":
		p.errorf(v, vp, "%s auth type \"function\" is not supported by Tollgate (it loads Python code): use \"dynamic\" with an authenticator procedure", method)
	default:
		p.errorf(v, vp, "must be \"static\" or \"dynamic\", got %q", s)
	}
	return ""
}

// dynamic reads the keys of a `type: dynamic` method.
func (p *parser) dynamic(m *mapping, d *auth.DynamicConfig, ps positions) {
	if v, vp := m.need("authenticator"); v != nil {
		ps.set("authenticator", v, vp)
		if s, ok := p.str(v, vp); ok {
			if wamp.ValidURI(wamp.URI(s), true, wamp.MatchExact) {
				d.Authenticator = wamp.URI(s)
			} else {
				p.errorf(v, vp, "invalid authenticator URI %q: must be a strict URI (components of a-z, 0-9 and _)", s)
			}
		}
	}
	if v, vp := m.get("authenticator-realm"); v != nil {
		ps.set("authenticator-realm", v, vp)
		if s, ok := p.str(v, vp); ok {
			d.Realm = wamp.URI(s)
			p.realmRef(s, v, vp)
		}
	}
	if v, vp := m.get("authenticator-role"); v != nil {
		if _, ok := p.str(v, vp); ok {
			p.warnf(m.keyNode("authenticator-role"), vp, "ignored: Tollgate always calls the authenticator from its internal trusted session")
		}
	}
	if v, vp := m.get("realms"); v != nil {
		ps.set("realms", v, vp)
		if items, ok := p.seq(v, vp); ok {
			for i, n := range items {
				if s, ok := p.str(n, index(vp, i)); ok {
					d.Realms = append(d.Realms, wamp.URI(s))
					p.realmRef(s, n, index(vp, i))
				}
			}
		}
	}
	if v, vp := m.get("default-role"); v != nil {
		ps.set("default-role", v, vp)
		if s, ok := p.str(v, vp); ok {
			d.DefaultRole = s
			p.roleRef(s, v, vp)
		}
	}
	g := p.backendGuard(m, "authenticator", "")
	d.MaxInFlight, d.MaxQueued, d.BreakerThreshold, d.BreakerCooldown = g.maxInFlight, g.maxQueued, g.threshold, g.cooldown
	if v, vp := m.get("timeout"); v != nil {
		ps.set("timeout", v, vp)
		if t, ok := p.duration(v, vp, time.Millisecond, "milliseconds"); ok {
			d.Timeout = t
			p.noteDynTimeout(m, t, v, vp)
		}
	} else {
		p.noteDynTimeout(m, 0, nil, "")
	}
}

// roleRef and realmRef remember references checked once all realms are
// known.
func (p *parser) roleRef(name string, n *yaml.Node, path string) {
	p.pendingRoles = append(p.pendingRoles, roleRef{name, n, path})
}

func (p *parser) realmRef(name string, n *yaml.Node, path string) {
	p.pendingRealms = append(p.pendingRealms, roleRef{name, n, path})
}

// secret reads a ticket or WAMP-CRA secret, which may be "${NAME}" to take
// it from the environment. unset is true when NAME is not set: as Crossbar
// does, that is a warning, and the caller leaves the principal out (nobody
// can log in as it) rather than use the literal text as the secret.
func (p *parser) secret(m *mapping, key string) (secret string, unset bool) {
	v, vp := m.need(key)
	if v == nil {
		return "", false
	}
	return p.secretAt(v, vp, key, "this principal is left out, so nobody can log in as it until the variable is set")
}

// secretAt reads the secret at v; ifUnset says what an unset ${NAME} means.
func (p *parser) secretAt(v *yaml.Node, vp, key, ifUnset string) (secret string, unset bool) {
	if n := p.resolve(v); n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() != "!!str" && n.ShortTag() != "!!null" {
		// Not through p.str: its message quotes the value, and this is a
		// secret (an unquoted PIN is a YAML integer).
		p.errorf(n, vp, "must be a string, got a YAML %s (quote it; the value is not shown because it is a secret)", strings.TrimPrefix(n.ShortTag(), "!!"))
		return "", false
	}
	s, ok := p.str(v, vp)
	if !ok {
		return "", false
	}
	if mm := envSecretRef.FindStringSubmatch(s); mm != nil {
		val, set := p.lookupEnv(mm[1])
		if !set {
			p.warnf(v, vp, "environment variable %s is not set: %s", mm[1], ifUnset)
			return "", true
		}
		s = val
	}
	if s == "" {
		p.errorf(v, vp, "empty %s", key)
	}
	return s, false
}

// principals walks a map of authid → principal. fn gets the principal's
// mapping, its config path and its key in validator messages
// (`principals["alice"]`).
func (p *parser) principals(m *mapping, key string, ps positions, fn func(authid string, pm *mapping, path, vkey string)) {
	v, vp := m.need(key)
	if v == nil {
		return
	}
	ps.set(key, m.keyNode(key), vp)
	pm := p.mapping(v, vp)
	if pm == nil {
		return
	}
	pm.each(func(authid string, kn, val *yaml.Node, kp string) {
		if authid == "" {
			p.errorf(kn, kp, "empty authid")
			return
		}
		if um := p.mapping(val, kp); um != nil {
			vkey := fmt.Sprintf("%s[%q]", key, authid)
			ps.set(vkey, kn, kp)
			for _, f := range um.fields {
				ps.set(vkey+"."+f.name, f.val, join(kp, f.name))
			}
			fn(authid, um, kp, vkey)
			um.done()
		}
	})
}

func (p *parser) principalRole(m *mapping) string {
	v, vp := m.get("role")
	if v == nil {
		return ""
	}
	s, ok := p.str(v, vp)
	if ok {
		p.roleRef(s, v, vp)
	}
	return s
}

func (p *parser) principalRealm(m *mapping) wamp.URI {
	v, vp := m.get("realm")
	if v == nil {
		return ""
	}
	s, ok := p.str(v, vp)
	if ok {
		p.realmRef(s, v, vp)
	}
	return wamp.URI(s)
}

func (p *parser) ticketPrincipals(m *mapping, ps positions) map[string]auth.TicketPrincipal {
	out := map[string]auth.TicketPrincipal{}
	p.principals(m, "principals", ps, func(authid string, um *mapping, _, _ string) {
		ticket, unset := p.secret(um, "ticket")
		tp := auth.TicketPrincipal{Ticket: ticket, Role: p.principalRole(um), Realm: p.principalRealm(um)}
		if unset {
			return
		}
		if tp.Ticket != "" {
			if err := auth.ValidateHash(tp.Ticket); err != nil {
				v, vp := um.get("ticket")
				p.errorf(v, vp, "%s (hash it with `tollgate passwd`)", strings.TrimPrefix(err.Error(), "auth: "))
			}
		}
		out[authid] = tp
	})
	return out
}

func (p *parser) wampcraUsers(m *mapping, ps positions) map[string]auth.WAMPCRAUser {
	out := map[string]auth.WAMPCRAUser{}
	p.principals(m, "users", ps, func(authid string, um *mapping, up, _ string) {
		secret, unset := p.secret(um, "secret")
		u := auth.WAMPCRAUser{Secret: secret, Role: p.principalRole(um)}
		u.Salt = p.optStr(um, "salt")
		if v, vp := um.get("iterations"); v != nil {
			u.Iterations, _ = p.integer(v, vp, 1, math.MaxInt32)
		}
		if v, vp := um.get("keylen"); v != nil {
			u.KeyLen, _ = p.integer(v, vp, 1, 1024)
		}
		if u.Salt == "" && (u.Iterations != 0 || u.KeyLen != 0) {
			p.errorf(um.n, up, "iterations and keylen need a salt")
		}
		if !unset {
			out[authid] = u
		}
	})
	return out
}

// warnRecognisable warns for each static WAMP-CRA user whose CHALLENGE an
// unknown authid's does not imitate (auth.WAMPCRA.Recognisable): a prober
// can tell that user exists.
func (p *parser) warnRecognisable(cfg auth.WAMPCRAConfig, ps positions) {
	a, err := auth.NewWAMPCRA(cfg)
	if err != nil {
		return // reported by auth.NewSet
	}
	for _, id := range a.Recognisable() {
		where := ps[fmt.Sprintf("users[%q]", id)]
		p.warnf(where.n, where.path, "a prober can tell that user %q exists: its CHALLENGE's salting (none, or other salt length, alphabet, iterations or keylen) differs from the most common, which unknown authids imitate; give all users the same salting", id)
	}
}

func (p *parser) cryptosignPrincipals(m *mapping, ps positions) map[string]auth.CryptosignPrincipal {
	out := map[string]auth.CryptosignPrincipal{}
	owner := map[string]string{} // lower-case hex key → authid
	p.principals(m, "principals", ps, func(authid string, um *mapping, _, vkey string) {
		pr := auth.CryptosignPrincipal{Role: p.principalRole(um), Realm: p.principalRealm(um)}
		v, vp := um.need("authorized_keys")
		if v == nil {
			out[authid] = pr
			return
		}
		keys, ok := p.seq(v, vp)
		if !ok {
			out[authid] = pr
			return
		}
		if len(keys) == 0 {
			p.errorf(v, vp, "no authorized keys")
		}
		for i, kn := range keys {
			kp := index(vp, i)
			s, ok := p.str(kn, kp)
			if !ok {
				continue
			}
			ps.set(index(vkey+".authorized_keys", len(pr.AuthorizedKeys)), kn, kp)
			if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
				p.errorf(kn, kp, "must be an Ed25519 public key as 64 hex digits (from `tollgate keygen`), got %q", s)
				continue
			}
			lk := strings.ToLower(s)
			if prev, dup := owner[lk]; dup {
				p.errorf(kn, kp, "key is also authorized for %q: a key must identify one principal", prev)
				continue
			}
			owner[lk] = authid
			pr.AuthorizedKeys = append(pr.AuthorizedKeys, s)
		}
		out[authid] = pr
	})
	return out
}

func (p *parser) tlsPrincipals(m *mapping, ps positions) map[string]auth.TLSPrincipal {
	out := map[string]auth.TLSPrincipal{}
	p.principals(m, "principals", ps, func(authid string, um *mapping, _, _ string) {
		tp := auth.TLSPrincipal{
			CertificateSHA1:   p.optStr(um, "certificate-sha1"),
			CertificateSHA256: p.optStr(um, "certificate-sha256"),
			Role:              p.principalRole(um),
		}
		out[authid] = tp
	})
	return out
}

// checkTLSAuth reports tls auth on a transport whose endpoint does not ask
// clients for certificates: without TLS and ca_certificates no client
// certificate ever arrives, so every tls login would fail.
func (p *parser) checkTLSAuth(refs []tlsAuthRef, e *Endpoint) {
	for _, r := range refs {
		switch {
		case e.Type == "unix":
			p.errorf(r.n, r.path, "tls auth needs a TCP endpoint with tls (a Unix socket has no client certificates)")
		case e.Type != "" && e.TLS == nil:
			p.errorf(r.n, r.path, "tls auth needs a TLS endpoint: add endpoint.tls with ca_certificates")
		case e.TLS != nil && len(e.TLS.CACertificates) == 0:
			p.errorf(r.n, r.path, "tls auth needs client certificates: add ca_certificates to endpoint.tls (only then does the listener ask for them)")
		}
	}
}
