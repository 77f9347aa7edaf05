package router_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// oddRealm needs label escaping (a quote and a backslash; loose URIs allow both).
const oddRealm = `odd"realm\x`

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// sample is one parsed series: its name and unescaped labels.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseExposition parses and checks Prometheus text format 0.0.4 strictly
// enough to catch our own mistakes: every sample follows its family's
// HELP and TYPE lines, families are contiguous and declared once, counters
// end in _total, label values are correctly escaped, series are unique.
// Histogram and summary samples (_bucket, _sum, _count) belong to their
// family.
func parseExposition(body string) ([]sample, error) {
	if body == "" || !strings.HasSuffix(body, "\n") {
		return nil, errors.New("exposition must end with a newline")
	}
	var (
		out     []sample
		help    = map[string]bool{}
		types   = map[string]string{}
		current string // family of the last TYPE line
		closed  = map[string]bool{}
		seen    = map[string]bool{}
	)
	for i, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if err := parseLine(line, &out, help, types, &current, closed, seen); err != nil {
			return nil, fmt.Errorf("line %d %q: %w", i+1, line, err)
		}
	}
	return out, nil
}

func parseLine(line string, out *[]sample, help map[string]bool, types map[string]string, current *string, closed, seen map[string]bool) error {
	switch {
	case strings.HasPrefix(line, "# HELP "):
		name, text, ok := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
		if !ok || !metricName.MatchString(name) || text == "" {
			return errors.New("malformed HELP")
		}
		if help[name] {
			return fmt.Errorf("second HELP for %s", name)
		}
		if _, err := unescape(text, false); err != nil {
			return fmt.Errorf("HELP: %w", err)
		}
		help[name] = true
	case strings.HasPrefix(line, "# TYPE "):
		name, typ, ok := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
		if !ok || !metricName.MatchString(name) {
			return errors.New("malformed TYPE")
		}
		if _, dup := types[name]; dup {
			return fmt.Errorf("second TYPE for %s", name)
		}
		if typ != "counter" && typ != "gauge" && typ != "histogram" && typ != "summary" {
			return fmt.Errorf("type %q", typ)
		}
		if !help[name] {
			return errors.New("TYPE without a HELP line before it")
		}
		if (typ == "counter" || typ == "gauge") && typ == "counter" != strings.HasSuffix(name, "_total") {
			return errors.New("counters, and only counters, end in _total")
		}
		if *current != "" {
			closed[*current] = true
		}
		types[name], *current = typ, name
	case line == "" || strings.HasPrefix(line, "#"):
		return errors.New("unexpected line")
	default:
		s, err := parseSample(line)
		if err != nil {
			return err
		}
		family := s.name
		if t := types[*current]; t == "histogram" || t == "summary" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if s.name == *current+suffix {
					family = *current
				}
			}
		}
		if types[family] == "" {
			return errors.New("sample without a preceding TYPE")
		}
		if family != *current || closed[family] {
			return fmt.Errorf("samples of %s are not contiguous", s.name)
		}
		key := seriesKey(s.name, s.labels)
		if seen[key] {
			return errors.New("duplicate series")
		}
		seen[key] = true
		*out = append(*out, s)
	}
	return nil
}

// unescape undoes exposition escaping: \\ and \n, plus \" in label values.
func unescape(v string, quotes bool) (string, error) {
	var b strings.Builder
	for j := 0; j < len(v); j++ {
		switch c := v[j]; {
		case c == '\n':
			return "", errors.New("raw newline")
		case c == '"' && quotes:
			return "", errors.New("unescaped quote")
		case c != '\\':
			b.WriteByte(c)
		case j+1 == len(v):
			return "", errors.New("dangling backslash")
		default:
			j++
			switch v[j] {
			case '\\':
				b.WriteByte('\\')
			case 'n':
				b.WriteByte('\n')
			case '"':
				if !quotes {
					return "", errors.New(`\" outside a label value`)
				}
				b.WriteByte('"')
			default:
				return "", fmt.Errorf("bad escape \\%c", v[j])
			}
		}
	}
	return b.String(), nil
}

// parseSample parses name{k="v",...} value, unescaping label values.
func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	end := strings.IndexAny(line, "{ ")
	if end < 0 {
		return s, errors.New("no value")
	}
	s.name, line = line[:end], line[end:]
	if !metricName.MatchString(s.name) {
		return s, errors.New("bad metric name")
	}
	if rest, ok := strings.CutPrefix(line, "{"); ok {
		for {
			k, v, ok := strings.Cut(rest, `="`)
			if !ok || !labelName.MatchString(k) {
				return s, errors.New("bad label name")
			}
			// The value ends at the first quote not escaped.
			j := 0
			for j < len(v) && v[j] != '"' {
				if v[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(v) {
				return s, errors.New("unterminated label value")
			}
			val, err := unescape(v[:j], true)
			if err != nil {
				return s, fmt.Errorf("label %s: %w", k, err)
			}
			if _, dup := s.labels[k]; dup {
				return s, fmt.Errorf("duplicate label %s", k)
			}
			s.labels[k] = val
			rest = v[j+1:]
			if r, ok := strings.CutPrefix(rest, "}"); ok {
				line = r
				break
			}
			if rest, ok = strings.CutPrefix(rest, ","); !ok {
				return s, errors.New("labels must be separated by commas")
			}
		}
	}
	num, ok := strings.CutPrefix(line, " ")
	if !ok {
		return s, errors.New("no space before the value")
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return s, fmt.Errorf("value: %w", err)
	}
	s.value = v
	return s, nil
}

func seriesKey(name string, labels map[string]string) string {
	return name + fmt.Sprint(labels) // fmt sorts map keys
}

// metrics is one scrape: value by name and labels ("" for none, else
// k=v pairs in key order, unescaped).
type metrics map[string]float64

func (m metrics) get(t *testing.T, name string, kv ...string) float64 {
	t.Helper()
	labels := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		labels[kv[i]] = kv[i+1]
	}
	v, ok := m[seriesKey(name, labels)]
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}

func scrape(t *testing.T, url string) metrics {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("Content-Type %q", ct)
	}
	samples, err := parseExposition(string(body))
	if err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
	m := metrics{}
	for _, s := range samples {
		m[seriesKey(s.name, s.labels)] = s.value
	}
	return m
}

// waitMetric scrapes until name{kv} is want (sessions leave asynchronously).
func waitMetric(t *testing.T, url string, want float64, name string, kv ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := scrape(t, url).get(t, name, kv...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v", name, kv, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{
			{Name: "realm1", Roles: []authz.RoleConfig{
				{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: everything}}},
				{Name: "user", Authorizer: "com.example.authorize", Timeout: 5 * time.Second},
			}},
			{Name: oddRealm, URICheck: "loose"},
		}
	})
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	ws := srv.Serve(t, "tcp", router.Transport{
		WebSocket: map[string]router.WebSocketOptions{"/ws": {Auth: []auth.MethodConfig{{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{
			Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "pw", Role: "user"}},
		}}}}},
		Metrics: []string{"/metrics"},
	})
	url := "http" + strings.TrimSuffix(strings.TrimPrefix(ws, "ws"), "/ws") + "/metrics"

	m0 := scrape(t, url)
	if v := m0.get(t, "tollgate_build_info", "goversion", runtimeVersion(m0), "version", router.Version); v != 1 {
		t.Errorf("build_info = %v", v)
	}
	for _, realm := range []string{"realm1", oddRealm} {
		for _, name := range []string{"tollgate_sessions", "tollgate_subscriptions", "tollgate_registrations"} {
			if v := m0.get(t, name, "realm", realm); v != 0 {
				t.Errorf("%s{realm=%q} = %v at start, want 0", name, realm, v)
			}
		}
	}
	// The authorizer cache is per realm with roles only.
	m0.get(t, "tollgate_authz_cache_entries", "realm", "realm1")
	if _, ok := m0[seriesKey("tollgate_authz_cache_entries", map[string]string{"realm": oddRealm})]; ok {
		t.Error("authorizer cache metrics for an open realm")
	}

	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	backend.subscribe("public.news", wamp.Dict{})

	joe := loginTicket(t, ws, "joe")
	bad := dialURL(t, ws, "json")
	bad.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe"})
	expect[*wamp.Challenge](bad)
	bad.send(&wamp.Authenticate{Signature: "wrong", Extra: wamp.Dict{}})
	expectAbort(bad, wamp.ErrAuthenticationFailed)

	publish := func(ask bool) {
		t.Helper()
		req := joe.next()
		joe.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: "public.news"})
		if ask {
			authorizeNext(t, backend, wamp.Dict{"allow": true, "cache": true})
		}
		if p := expect[*wamp.Published](joe); p.Request != req {
			t.Fatalf("PUBLISHED for %d, want %d", p.Request, req)
		}
		expect[*wamp.Event](backend)
	}
	publish(true)
	publish(false) // from the cache

	m1 := scrape(t, url)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"tollgate_sessions", []string{"realm", "realm1"}, 2},
		{"tollgate_sessions", []string{"realm", oddRealm}, 0},
		{"tollgate_subscriptions", []string{"realm", "realm1"}, 1},
		{"tollgate_registrations", []string{"realm", "realm1"}, 1},
		{"tollgate_auth_failures_total", nil, 1},
		{"tollgate_join_refusals_total", []string{"reason", "wamp.error.authentication_failed"}, 1},
		{"tollgate_joins_total", []string{"authmethod", "ticket", "authprovider", "static"}, 1},
		{"tollgate_joins_total", []string{"authmethod", "anonymous", "authprovider", "static"}, 1},
		{"tollgate_joins_total", []string{"authmethod", "cryptosign", "authprovider", "dynamic"}, 0},
		{"tollgate_accept_errors_total", nil, 0},
		{"tollgate_messages_received_total", []string{"type", "publish"}, 2},
		{"tollgate_messages_sent_total", []string{"type", "published"}, 2},
		{"tollgate_messages_sent_total", []string{"type", "event"}, 2},
		{"tollgate_messages_sent_total", []string{"type", "challenge"}, 2},
		{"tollgate_messages_sent_total", []string{"type", "welcome"}, 2},
		{"tollgate_messages_received_total", []string{"type", "hello"}, 3},
		{"tollgate_authorizer_calls_total", []string{"realm", "realm1"}, 1},
		{"tollgate_backend_call_duration_seconds_count", []string{"kind", "authorizer", "outcome", "ok"}, 1},
		{"tollgate_backend_call_duration_seconds_bucket", []string{"kind", "authorizer", "outcome", "ok", "le", "+Inf"}, 1},
		{"tollgate_authorizer_failures_total", []string{"realm", "realm1"}, 0},
		{"tollgate_authz_cache_hits_total", []string{"realm", "realm1"}, 1},
		{"tollgate_authz_cache_misses_total", []string{"realm", "realm1"}, 1},
		{"tollgate_authz_cache_entries", []string{"realm", "realm1"}, 1},
		{"tollgate_protocol_violations_total", nil, 0},
		{"tollgate_dropped_publications_total", nil, 0},
	} {
		if got := m1.get(t, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := m1.get(t, "tollgate_connections"); got < 2 {
		t.Errorf("tollgate_connections = %v, want at least backend and joe", got)
	}
	// Metrics are read live: Stats agrees.
	if st := srv.Router().Stats(); st.AuthFailures != 1 || st.Sessions != 2 {
		t.Errorf("Stats %+v", st)
	}

	joe.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut})
	expect[*wamp.Goodbye](joe)
	waitMetric(t, url, 1, "tollgate_sessions", "realm", "realm1")
	waitMetric(t, url, 0, "tollgate_authz_cache_entries", "realm", "realm1") // session-scoped entries leave with joe
}

// runtimeVersion returns the goversion label of build_info (any value is
// fine; the test only needs it to look the series up).
func runtimeVersion(m metrics) string {
	for k := range m {
		if rest, ok := strings.CutPrefix(k, "tollgate_build_info"+"map[goversion:"); ok {
			v, _, _ := strings.Cut(rest, " ")
			return v
		}
	}
	return ""
}

func TestMetricsHTTP(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	// Metrics only: no WAMP on this listener at all.
	addr := strings.TrimPrefix(srv.Serve(t, "tcp", router.Transport{Metrics: []string{"stats"}}), "tcp://")
	// Metrics beside a catch-all WebSocket endpoint: the metrics path wins.
	both := strings.TrimPrefix(srv.Serve(t, "tcp", router.Transport{
		WebSocket: map[string]router.WebSocketOptions{"": {}},
		Metrics:   []string{"/metrics"},
	}), "ws://")
	both = strings.TrimSuffix(both, "/ws")

	scrape(t, "http://"+addr+"/stats")
	scrape(t, "http://"+both+"/metrics")

	for _, c := range []struct {
		name, method, url string
		status            int
		body              string
	}{
		{"head", http.MethodHead, "http://" + addr + "/stats", http.StatusOK, ""},
		{"post", http.MethodPost, "http://" + addr + "/stats", http.StatusMethodNotAllowed, "method not allowed\n"},
		{"other path", http.MethodGet, "http://" + addr + "/metrics", http.StatusNotFound, "nothing served at /metrics (try /stats)\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(c.method, c.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || string(body) != c.body {
				t.Errorf("%s %s: %s %q, want %d %q", c.method, c.url, resp.Status, body, c.status, c.body)
			}
			if c.status == http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}

	// Mounted on a user's mux, as Handler() is.
	mux := http.NewServeMux()
	mux.Handle("/m", srv.Router().MetricsHandler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Shutdown(context.Background()) })
	m := scrape(t, "http://"+ln.Addr().String()+"/m")
	if v := m.get(t, "tollgate_sessions", "realm", string(routertest.Realm)); v != 0 {
		t.Errorf("sessions %v", v)
	}
}

func TestMetricsTransportErrors(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, c := range []struct {
		name string
		tr   router.Transport
		want string
	}{
		{"path taken", router.Transport{WebSocket: map[string]router.WebSocketOptions{"/ws": {}}, Metrics: []string{"ws"}}, `router: metrics path "/ws" is already served`},
		{"twice", router.Transport{Metrics: []string{"/m", "m"}}, `router: metrics path "/m" is already served`},
		{"empty", router.Transport{Metrics: []string{""}}, "router: empty metrics path"},
		{"nothing", router.Transport{Name: "t"}, "router: transport t serves neither WebSocket, RawSocket nor metrics"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			err = srv.Router().ServeTransport(ln, c.tr)
			if err == nil || errors.Is(err, router.ErrServerClosed) || err.Error() != c.want {
				t.Fatalf("ServeTransport: %v, want %q", err, c.want)
			}
		})
	}
}

// The exposition checker must catch what it claims to.
func TestParseExpositionRejects(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, body string }{
		{"no type", "# HELP a_total x\na_total 1\n"},
		{"no help", "# TYPE a_total counter\na_total 1\n"},
		{"counter name", "# HELP a x\n# TYPE a counter\na 1\n"},
		{"bad escape", "# HELP a x\n# TYPE a gauge\na{l=\"\\q\"} 1\n"},
		{"unescaped quote", "# HELP a x\n# TYPE a gauge\na{l=\"x\"y\"} 1\n"},
		{"split family", "# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\nb 1\na 1\n"},
		{"duplicate", "# HELP a x\n# TYPE a gauge\na{l=\"1\"} 1\na{l=\"1\"} 2\n"},
		{"no newline", "# HELP a x\n# TYPE a gauge\na 1"},
		{"value", "# HELP a x\n# TYPE a gauge\na one\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := parseExposition(c.body); err == nil {
				t.Errorf("accepted:\n%s", c.body)
			}
		})
	}
}
