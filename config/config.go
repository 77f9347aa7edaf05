package config

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Config is a validated node configuration: the realms and transports of
// Tollgate's single router worker. Values returned by Load, Parse and
// Default are independent; a Config is not modified by its methods and may
// be read from several goroutines.
type Config struct {
	// File is the name the config was parsed from; relative paths in the
	// config (TLS files, Unix sockets) were resolved against its directory.
	File string
	// Realms in file order. Permissions are stored as written: a
	// permission without match keeps its starred URI and Match "", which
	// package authz converts (see docs/config.md). Roles is never nil: a
	// realm without a roles key gets an empty list (only trusted sessions
	// may join), never the router's open realm.
	Realms []router.RealmOptions
	// Transports in file order.
	Transports []Transport
	// Limits are the router worker's connection limits (Tollgate's keys
	// in its options); zero fields mean the router's defaults.
	Limits Limits
	// AuthHeaders is the router worker options' auth_headers: the
	// WebSocket upgrade headers dynamic authenticators and authorizers
	// receive on endpoints without their own list (nil: none).
	AuthHeaders []string
	// Guests are the guest workers to run next to the router, in file order.
	Guests []Guest
	// Cluster is the Tollgate-only "cluster" key (cluster.go); nil: a
	// single node.
	Cluster *Cluster
}

// Transport is one listening transport.
type Transport struct {
	// Name is the transport's id, or "transportN" (1-based file order).
	Name string
	// Type is the Crossbar transport type: websocket, rawsocket, web or universal.
	Type     string
	Endpoint Endpoint
	// WebSocket endpoints by HTTP path: "" accepts any path (a plain
	// websocket transport), "/ws" a web or universal path service.
	WebSocket map[string]WebSocket
	// RawSocket is set for rawsocket and universal transports. Its Auth
	// holds the transport's auth methods, as for WebSocket.
	RawSocket *router.RawSocketOptions
	// Metrics are the HTTP paths ("/metrics") of metrics path services
	// (web and universal transports), in file order.
	Metrics []string
	// Web are the transport's other HTTP path services (static files,
	// redirects, JSON values, node info), in file order.
	Web []WebService
}

// WebSocket is one WebSocket endpoint of a transport.
type WebSocket struct {
	// Options for the router, auth methods included (Options.Auth, one
	// per configured method, sorted by method name; nil without an auth
	// section, which the router takes as anonymous only).
	Options router.WebSocketOptions
	// Cookie is the parsed cookie-tracking section; not supported yet
	// (a warning says so), nil when absent.
	Cookie *Cookie
}

// Endpoint is where a transport listens.
type Endpoint struct {
	// Type is "tcp" or "unix".
	Type string
	// Interface is the IP address or host name to bind ("" = all).
	Interface string
	// Port is the TCP port; 0 picks a free port.
	Port int
	// Version is 4 or 6 to restrict TCP to one IP version, 0 for both.
	Version int
	// Path is the Unix socket path (resolved against the config's directory).
	Path string
	// TLS, if set, wraps TCP connections in TLS.
	TLS *TLS
}

// TLS names the files of a TLS endpoint (resolved against the config's
// directory). They are read by Config.Listeners, not by Parse.
type TLS struct {
	Key, Certificate  string
	ChainCertificates []string
	// CACertificates, if set, makes the server require and verify client
	// certificates signed by these CAs.
	CACertificates []string

	at tlsPositions // where each file was named, for error messages
}

type position struct {
	line, col int
	path      string
}

type tlsPositions struct {
	key, cert position
	chain, ca []position
}

// Cookie is a parsed cookie-tracking section (not supported yet).
type Cookie struct {
	Name       string // default "cbtid"
	Length     int    // default 24
	MaxAge     int    // seconds, default 604800
	Secure     bool
	HTTPStrict bool
	SameSite   string // "", Strict, Lax or None
	Store      string // memory, file or database ("" = none)
}

// Load reads and parses the config file at path. See Parse.
func Load(path string) (*Config, []Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return Parse(path, data)
}

// Parse parses a config whose file name is name: the extension selects the
// syntax (.yaml, .yml or .json) and relative paths in the config are
// resolved against the name's directory. Environment variables referenced
// as "$NAME" (endpoint port) or "${NAME}" (ticket and WAMP-CRA secrets) are
// read at parse time.
//
// On failure the error is Errors, listing every problem found. Warnings are
// returned in both cases.
func Parse(name string, data []byte) (*Config, []Warning, error) {
	p := &parser{file: name, dir: filepath.Dir(name), lookupEnv: os.LookupEnv, budget: nodeBudget}
	c := p.parse(data)
	errs, warns := p.sorted()
	if len(errs) > 0 {
		return nil, warns, Errors(errs)
	}
	return c, warns, nil
}

//go:embed default.yaml
var defaultYAML []byte

// DefaultName is the file name shown for the embedded default config.
const DefaultName = "embedded:default.yaml"

// Default returns the embedded development config: realm "realm1" where
// the anonymous role may do everything, a web transport on
// 127.0.0.1:8080 with WebSocket at /ws and a RawSocket transport on
// 127.0.0.1:8081, both anonymous.
func Default() *Config {
	c, _, err := Parse(DefaultName, defaultYAML)
	if err != nil {
		panic("config: embedded default is invalid: " + err.Error()) // caught by tests
	}
	return c
}

// DefaultYAML returns the text of the embedded default config, a starting
// point for a config file of one's own.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

func (p *parser) parse(data []byte) *Config {
	ext := strings.ToLower(filepath.Ext(p.file))
	switch ext {
	case ".yaml", ".yml":
	case ".json":
		if !p.checkJSON(data) {
			return nil
		}
		data = unescapeJSONSlash(data)
	default:
		p.errorf(nil, "", "unknown config file extension %q: use .yaml, .yml or .json", ext)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(nil, "", "empty config file")
		} else {
			p.yamlError(err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "", "more than one YAML document in the file")
	} else if !errors.Is(err, io.EOF) {
		p.yamlError(err)
	}
	if len(doc.Content) == 0 {
		p.errorf(&doc, "", "empty config file")
		return nil
	}
	c := &Config{File: p.file}
	p.top(doc.Content[0], c)
	return c
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: ...") into an Error.
func (p *parser) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line = n
				msg = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	p.errs = append(p.errs, Error{File: p.file, Line: line, Msg: "syntax error: " + msg})
}

// checkJSON reports a JSON syntax error with its line and column: YAML
// would accept many files that are not JSON, and its messages would be
// confusing for a JSON file.
func (p *parser) checkJSON(data []byte) bool {
	if json.Valid(data) {
		return true
	}
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(data, se.Offset)
		p.errs = append(p.errs, Error{File: p.file, Line: line, Col: col, Msg: "JSON syntax error: " + se.Error()})
	} else {
		p.errorf(nil, "", "invalid JSON: %v", err)
	}
	return false
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// unescapeJSONSlash replaces the JSON escape \/ (which YAML parsers do not
// all accept) by a plain slash inside strings.
func unescapeJSONSlash(data []byte) []byte {
	if !bytes.Contains(data, []byte(`\/`)) {
		return data
	}
	out := make([]byte, 0, len(data))
	inStr := false
	for i := 0; i < len(data); i++ {
		b := data[i]
		switch {
		case !inStr:
			if b == '"' {
				inStr = true
			}
		case b == '\\' && i+1 < len(data):
			if data[i+1] == '/' {
				out = append(out, '/')
				i++
				continue
			}
			out = append(out, b, data[i+1])
			i++
			continue
		case b == '"':
			inStr = false
		}
		out = append(out, b)
	}
	return out
}

// RouterOptions returns the router options for the config's realms and
// limits (Logger left nil). The result shares nothing with c.
func (c *Config) RouterOptions() router.Options {
	realms := make([]router.RealmOptions, len(c.Realms))
	for i, r := range c.Realms {
		r.Roles = slices.Clone(r.Roles)
		for j := range r.Roles {
			r.Roles[j].Permissions = slices.Clone(r.Roles[j].Permissions)
		}
		r.EventHistory = slices.Clone(r.EventHistory)
		realms[i] = r
	}
	l := c.Limits
	var clustered []wamp.URI
	if c.Cluster != nil {
		clustered = slices.Clone(c.Cluster.Realms)
	}
	return router.Options{
		Realms:           realms,
		ClusterRealms:    clustered,
		HelloTimeout:     l.HelloTimeout,
		GoodbyeTimeout:   l.GoodbyeTimeout,
		GoodbyeReason:    l.GoodbyeReason,
		MaxQueueBytes:    l.MaxQueueBytes,
		MaxQueueMessages: l.MaxQueueMessages,
		SlowConsumer:     l.SlowConsumer,

		MaxConnectionsPerIP:       l.MaxConnectionsPerIP,
		MaxConnectionsPerListener: l.MaxConnectionsPerListener,
		HelloRatePerIP:            l.HelloRatePerIP,
		HelloRatePerAuthID:        l.HelloRatePerAuthID,
		MaxPendingLogins:          l.MaxPendingLogins,
		AuthHeaders:               slices.Clone(c.AuthHeaders),
	}
}

// RouterTransport returns what the router serves on t's listener. The
// result shares nothing with t.
func (t *Transport) RouterTransport() router.Transport {
	rt := router.Transport{Name: t.Name, Metrics: slices.Clone(t.Metrics)}
	if len(t.WebSocket) > 0 {
		rt.WebSocket = make(map[string]router.WebSocketOptions, len(t.WebSocket))
		for path, ws := range t.WebSocket {
			o := ws.Options
			o.Serializers = slices.Clone(o.Serializers)
			o.AllowedOrigins = slices.Clone(o.AllowedOrigins)
			o.AuthHeaders = slices.Clone(o.AuthHeaders)
			o.Auth = cloneMethods(o.Auth)
			rt.WebSocket[path] = o
		}
	}
	if t.RawSocket != nil {
		o := *t.RawSocket
		o.Serializers = slices.Clone(o.Serializers)
		o.Auth = cloneMethods(o.Auth)
		rt.RawSocket = &o
	}
	return rt
}

// cloneMethods deep-copies auth methods (their principal maps and key lists).
func cloneMethods(ms []auth.MethodConfig) []auth.MethodConfig {
	if ms == nil {
		return nil
	}
	out := slices.Clone(ms)
	for i := range out {
		m := &out[i]
		m.Ticket.Principals = maps.Clone(m.Ticket.Principals)
		m.WAMPCRA.Users = maps.Clone(m.WAMPCRA.Users)
		m.TLS.Principals = maps.Clone(m.TLS.Principals)
		if m.Cryptosign.Principals != nil {
			ps := make(map[string]auth.CryptosignPrincipal, len(m.Cryptosign.Principals))
			for id, p := range m.Cryptosign.Principals {
				p.AuthorizedKeys = slices.Clone(p.AuthorizedKeys)
				ps[id] = p
			}
			m.Cryptosign.Principals = ps
		}
	}
	return out
}

// Address is the endpoint's listen address: "host:port" for TCP, the
// socket path for Unix.
func (e *Endpoint) Address() string {
	if e.Type == "unix" {
		return e.Path
	}
	return netJoin(e.Interface, e.Port)
}

// Network is the endpoint's network for net.Listen: tcp, tcp4, tcp6 or unix.
func (e *Endpoint) Network() string {
	switch {
	case e.Type == "unix":
		return "unix"
	case e.Version == 4:
		return "tcp4"
	case e.Version == 6:
		return "tcp6"
	}
	return "tcp"
}

// Summary describes the config in one line, e.g. "1 realm (realm1),
// 2 transports (web on 127.0.0.1:8080, rawsocket on 127.0.0.1:8081)".
func (c *Config) Summary() string {
	names := make([]string, len(c.Realms))
	for i, r := range c.Realms {
		names[i] = string(r.Name)
	}
	ts := make([]string, len(c.Transports))
	for i, t := range c.Transports {
		where := t.Endpoint.Address()
		if t.Endpoint.Type == "unix" {
			where = "unix:" + where
		}
		ts[i] = t.Type + " on " + where
		if t.Endpoint.TLS != nil {
			ts[i] += " (tls)"
		}
	}
	return fmt.Sprintf("%s (%s), %s (%s)",
		plural(len(c.Realms), "realm"), strings.Join(names, ", "),
		plural(len(c.Transports), "transport"), strings.Join(ts, ", ")) + c.Cluster.summary()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
