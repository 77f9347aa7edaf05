package router

import (
	"bufio"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// msgTypes bounds the message type codes counted per type (YIELD is 70).
const msgTypes = 71

// count adds one message of type t to table (stats.received or stats.sent).
// One atomic add, no lock: it runs for every message.
func (st *stats) count(table *[msgTypes]atomic.Uint64, t wamp.MessageType) {
	if t < msgTypes {
		table[t].Add(1)
	}
}

// Message types listed in the metrics even while zero, by direction. Other
// types appear once counted (a client sending WELCOME, say).
var (
	receivedTypes = []wamp.MessageType{
		wamp.TypeHello, wamp.TypeAuthenticate, wamp.TypeAbort, wamp.TypeGoodbye, wamp.TypeError,
		wamp.TypePublish, wamp.TypeSubscribe, wamp.TypeUnsubscribe, wamp.TypeCall, wamp.TypeCancel,
		wamp.TypeRegister, wamp.TypeUnregister, wamp.TypeYield,
	}
	sentTypes = []wamp.MessageType{
		wamp.TypeWelcome, wamp.TypeAbort, wamp.TypeChallenge, wamp.TypeGoodbye, wamp.TypeError,
		wamp.TypePublished, wamp.TypeSubscribed, wamp.TypeUnsubscribed, wamp.TypeEvent, wamp.TypeResult,
		wamp.TypeRegistered, wamp.TypeUnregistered, wamp.TypeInvocation, wamp.TypeInterrupt,
	}
)

// MetricsHandler returns an http.Handler serving the router's metrics in
// the Prometheus text exposition format 0.0.4 (docs/metrics.md lists
// them). It answers GET and HEAD; each scrape reads the counters afresh
// and takes only short read locks (no routing is blocked). Transport.Metrics
// mounts it on a listener; it may also be mounted on any http.ServeMux.
func (r *Router) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if req.Method == http.MethodHead {
			return
		}
		bw := bufio.NewWriter(w)
		r.writeMetrics(bw)
		bw.Flush()
	})
}

// metricsWriter writes exposition-format families; realm labels are
// escaped once per realm.
type metricsWriter struct {
	w *bufio.Writer
}

func (mw metricsWriter) family(name, typ, help string) {
	mw.w.WriteString("# HELP " + name + " " + escapeHelp(help) + "\n# TYPE " + name + " " + typ + "\n")
}

// sample writes name{labels} v; labels is "" or `k="escaped",...`.
func (mw metricsWriter) sample(name, labels string, v uint64) {
	mw.w.WriteString(name)
	if labels != "" {
		mw.w.WriteString("{" + labels + "}")
	}
	mw.w.WriteByte(' ')
	mw.w.WriteString(strconv.FormatUint(v, 10))
	mw.w.WriteByte('\n')
}

func (mw metricsWriter) single(name, typ, help string, v uint64) {
	mw.family(name, typ, help)
	mw.sample(name, "", v)
}

func label(k, v string) string { return k + `="` + escapeLabel(v) + `"` }

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func (r *Router) writeMetrics(w *bufio.Writer) {
	mw := metricsWriter{w}
	mw.family("tollgate_build_info", "gauge", "Tollgate build information; always 1.")
	mw.sample("tollgate_build_info", label("version", Version)+","+label("goversion", runtime.Version()), 1)

	r.mu.Lock()
	nconns := len(r.conns)
	r.mu.Unlock()
	mw.single("tollgate_connections", "gauge", "Open client connections (WebSocket and RawSocket), joined to a realm or not.", uint64(nconns))

	names := make([]wamp.URI, 0, len(r.realms))
	for n := range r.realms {
		names = append(names, n)
	}
	slices.Sort(names)
	realmLabels := make([]string, len(names))
	for i, n := range names {
		realmLabels[i] = label("realm", string(n))
	}
	perRealm := func(name, typ, help string, v func(rm *realm) uint64) {
		mw.family(name, typ, help)
		for i, n := range names {
			mw.sample(name, realmLabels[i], v(r.realms[n]))
		}
	}
	perRealm("tollgate_sessions", "gauge", "Established sessions by realm.",
		func(rm *realm) uint64 { return uint64(rm.count()) })
	perRealm("tollgate_subscriptions", "gauge", "Subscriptions by realm (one per topic and match policy, shared by its subscribers).",
		func(rm *realm) uint64 { return uint64(rm.broker.Count()) })
	perRealm("tollgate_registrations", "gauge", "Registrations by realm, not counting the router's own procedures (meta API).",
		func(rm *realm) uint64 { return uint64(max(rm.dealer.Count()-len(rm.internal.procs), 0)) })

	st := &r.stats
	for _, c := range []struct {
		name, help string
		v          *atomic.Uint64
	}{
		{"tollgate_protocol_violations_total", "Sessions aborted for protocol violations.", &st.protocolViolations},
		{"tollgate_slow_consumers_total", "Connections closed because their outbound queue was full.", &st.slowConsumers},
		{"tollgate_dropped_events_total", "EVENTs dropped for a full outbound queue (slow consumer policy drop_events).", &st.droppedEvents},
		{"tollgate_dropped_publications_total", "Unacknowledged PUBLISHes refused (invalid URI or options, not authorized).", &st.droppedPublications},
		{"tollgate_withheld_events_total", "Events of pattern subscriptions withheld because the subscriber may not subscribe to the concrete topic.", &st.withheldEvents},
		{"tollgate_oversize_messages_total", "Messages not sent because they exceed the size the peer accepts.", &st.oversize},
		{"tollgate_auth_failures_total", "Joins refused by authentication (ABORT before WELCOME).", &st.authFailures},
		{"tollgate_authz_failures_total", "Actions denied because the authorizer failed (error, timeout, malformed answer).", &st.authzFailures},
	} {
		mw.single(c.name, "counter", c.help, c.v.Load())
	}

	msgs := func(name, help string, table *[msgTypes]atomic.Uint64, listed []wamp.MessageType) {
		mw.family(name, "counter", help)
		for t := range wamp.MessageType(msgTypes) {
			n := table[t].Load()
			if t.Known() && (n > 0 || slices.Contains(listed, t)) {
				mw.sample(name, label("type", strings.ToLower(t.String())), n)
			}
		}
	}
	msgs("tollgate_messages_received_total", "WAMP messages received from clients, by type.", &st.received, receivedTypes)
	msgs("tollgate_messages_sent_total", "WAMP messages queued to clients, by type.", &st.sent, sentTypes)

	// Authorizer caches exist only on realms with roles.
	var (
		azLabels []string
		azStats  []authz.CacheStats
	)
	for i, n := range names {
		if az := r.realms[n].authz; az != nil {
			azLabels = append(azLabels, realmLabels[i])
			azStats = append(azStats, az.CacheStats())
		}
	}
	if len(azStats) == 0 {
		return
	}
	for _, f := range []struct {
		name, typ, help string
		v               func(cs *authz.CacheStats) uint64
	}{
		{"tollgate_authz_cache_hits_total", "counter", "Authorization questions answered from the authorizer cache, by realm.",
			func(cs *authz.CacheStats) uint64 { return cs.Hits }},
		{"tollgate_authz_cache_misses_total", "counter", "Authorization questions of dynamic roles not answered from the cache, by realm.",
			func(cs *authz.CacheStats) uint64 { return cs.Misses }},
		{"tollgate_authz_cache_evictions_total", "counter", "Authorizer cache entries evicted to stay within the cache size, by realm.",
			func(cs *authz.CacheStats) uint64 { return cs.Evictions }},
		{"tollgate_authz_cache_entries", "gauge", "Authorizer cache entries held, by realm.",
			func(cs *authz.CacheStats) uint64 { return uint64(max(cs.Entries, 0)) }},
		{"tollgate_authz_cache_discarded_total", "counter", "Cacheable authorizer answers not cached because a flush or the session leaving overtook the call, by realm.",
			func(cs *authz.CacheStats) uint64 { return cs.Discarded }},
		{"tollgate_authorizer_calls_total", "counter", "Calls made to dynamic authorizers, by realm.",
			func(cs *authz.CacheStats) uint64 { return cs.AuthorizerCalls }},
		{"tollgate_authorizer_failures_total", "counter", "Dynamic authorizer calls that failed (error, timeout, not registered, malformed answer), by realm.",
			func(cs *authz.CacheStats) uint64 { return cs.Failures }},
		{"tollgate_authorizer_shared_total", "counter", "Authorization questions answered by an identical question's authorizer call in flight, by realm.",
			func(cs *authz.CacheStats) uint64 { return cs.Shared }},
	} {
		mw.family(f.name, f.typ, f.help)
		for i := range azStats {
			mw.sample(f.name, azLabels[i], f.v(&azStats[i]))
		}
	}
}
