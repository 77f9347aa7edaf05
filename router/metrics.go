package router

import (
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tollgate-wamp/tollgate/wamp"
)

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

// promState is the router's Prometheus registry, built on first use.
type promState struct {
	once    sync.Once
	reg     *prometheus.Registry
	handler http.Handler

	backendOnce sync.Once
	backend     *prometheus.HistogramVec // metrics_backend.go
}

// Registry returns the router's Prometheus registry: the router's own
// collector (docs/metrics.md) and the process and Go runtime collectors.
// An embedding program may register its own collectors on it.
func (r *Router) Registry() *prometheus.Registry {
	r.prom.once.Do(func() {
		reg := prometheus.NewRegistry()
		reg.MustRegister(
			&routerCollector{r: r},
			r.backendCalls(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			collectors.NewGoCollector(),
		)
		r.prom.reg = reg
		r.prom.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			EnableOpenMetrics: true,
			ErrorLog:          slog.NewLogLogger(r.log.With("component", "metrics").Handler(), slog.LevelWarn),
		})
	})
	return r.prom.reg
}

// MetricsHandler returns an http.Handler serving the router's metrics
// (docs/metrics.md) in the Prometheus text format, or OpenMetrics when the
// scraper asks for it. It answers GET and HEAD; each scrape reads the
// counters afresh and takes only short locks (no routing is blocked).
// Transport.Metrics mounts it on a listener; it may also be mounted on any
// http.ServeMux.
func (r *Router) MetricsHandler() http.Handler {
	r.Registry()
	h := r.prom.handler
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, req)
	})
}

// routerCollector reads the router's counters at scrape time; the routing
// path keeps only its own plain counters (metrics_shard.go).
type routerCollector struct{ r *Router }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	dBuild       = desc("tollgate_build_info", "Tollgate build information; always 1.", "version", "goversion")
	dConns       = desc("tollgate_connections", "Open client connections (WebSocket and RawSocket), joined to a realm or not.")
	dParked      = desc("tollgate_connections_parked", "Open connections parked while idle: waiting in the router's epoll set without a read-loop goroutine.")
	dSessions    = desc("tollgate_sessions", "Established sessions by realm.", "realm")
	dSessionKind = desc("tollgate_sessions_by_kind", "Established sessions by realm, transport, serializer and authentication method.",
		"realm", "transport", "serializer", "authmethod")
	dSubs     = desc("tollgate_subscriptions", "Subscriptions by realm (one per topic and match policy, shared by its subscribers).", "realm")
	dStored   = desc("tollgate_stored_event_bytes", "Accounted bytes of stored events (kind: retained or history), all realms.", "kind")
	dRegs     = desc("tollgate_registrations", "Registrations by realm, not counting the router's own procedures (meta API).", "realm")
	dReceived = desc("tollgate_messages_received_total", "WAMP messages received from clients, by type.", "type")
	dSent     = desc("tollgate_messages_sent_total", "WAMP messages queued to clients, by type.", "type")
	dBytesIn  = desc("tollgate_received_bytes_total", "Bytes of WAMP messages received from clients (serialized payload, without transport framing).")
	dBytesOut = desc("tollgate_sent_bytes_total", "Bytes of WAMP messages queued to clients (serialized payload, without transport framing).")
	dInFlight = desc("tollgate_calls_in_flight", "Calls waiting for their final RESULT or ERROR, by realm.", "realm")
	dErrors   = desc("tollgate_errors_sent_total", "ERROR messages sent to clients, by error URI (the spec's and the router's own; any other is \"other\").", "uri")
)

// problemCounters are the router-wide counters of rare events (not per message).
var problemCounters = []struct {
	d *prometheus.Desc
	v func(s *Stats) uint64
}{
	{desc("tollgate_protocol_violations_total", "Sessions aborted for protocol violations."), func(s *Stats) uint64 { return s.ProtocolViolations }},
	{desc("tollgate_slow_consumers_total", "Connections closed because their outbound queue was full."), func(s *Stats) uint64 { return s.SlowConsumers }},
	{desc("tollgate_dropped_events_total", "EVENTs dropped for a full outbound queue (slow consumer policy drop_events)."), func(s *Stats) uint64 { return s.DroppedEvents }},
	{desc("tollgate_dropped_publications_total", "Unacknowledged PUBLISHes refused (invalid URI or options, not authorized)."), func(s *Stats) uint64 { return s.DroppedPublications }},
	{desc("tollgate_withheld_events_total", "Events of pattern subscriptions withheld because the subscriber may not subscribe to the concrete topic."), func(s *Stats) uint64 { return s.WithheldEvents }},
	{desc("tollgate_oversize_messages_total", "Messages not sent because they exceed the size the peer accepts."), func(s *Stats) uint64 { return s.Oversize }},
	{desc("tollgate_auth_failures_total", "Joins refused by authentication (ABORT before WELCOME)."), func(s *Stats) uint64 { return s.AuthFailures }},
	{desc("tollgate_authz_failures_total", "Actions denied because the authorizer failed (error, timeout, malformed answer)."), func(s *Stats) uint64 { return s.AuthzFailures }},
	{desc("tollgate_unencodable_messages_total", "Messages and events a session's serializer cannot carry (a message answering a request is replaced by ERROR)."), func(s *Stats) uint64 { return s.Unencodable }},
	{desc("tollgate_bound_refusals_total", "CALL, SUBSCRIBE and REGISTER refused by a per-session bound (calls in flight, subscriptions, registrations)."), func(s *Stats) uint64 { return s.BoundRefusals }},
	{desc("tollgate_stored_events_evicted_total", "Retained and history events evicted to stay within the count and byte bounds."), func(s *Stats) uint64 { return s.StoredEvicted }},
	{desc("tollgate_stored_events_too_large_total", "Events not retained or kept in history because they exceed stored_event_bytes."), func(s *Stats) uint64 { return s.StoredTooLarge }},
	{desc("tollgate_refused_connections_total", "Connections closed at accept by a per-listener or per-IP connection limit."), func(s *Stats) uint64 { return s.RefusedConnections }},
	{desc("tollgate_handshake_timeouts_total", "Connections closed because no session joined by the handshake deadline."), func(s *Stats) uint64 { return s.HandshakeTimeouts }},
	{desc("tollgate_throttled_logins_total", "Logins refused by admission control (HELLO rate limits, logins in progress)."), func(s *Stats) uint64 { return s.ThrottledLogins }},
	{desc("tollgate_realm_full_total", "HELLOs refused because the realm has its maximum of sessions."), func(s *Stats) uint64 { return s.RealmFull }},
	{desc("tollgate_rate_limited_total", "Requests refused (or unacknowledged PUBLISHes dropped) by a message rate limit."), func(s *Stats) uint64 { return s.RateLimited }},
	{desc("tollgate_rate_limit_closes_total", "Sessions closed for exceeding a message rate limit repeatedly."), func(s *Stats) uint64 { return s.RateLimitCloses }},
}

func (rc *routerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dBuild, dConns, dSessions, dSessionKind, dSubs, dStored, dRegs, dReceived, dSent, dBytesIn, dBytesOut, dInFlight, dErrors, dCallDuration} {
		ch <- d
	}
	for _, c := range problemCounters {
		ch <- c.d
	}
	ch <- dJoins
	ch <- dRefusals
	ch <- dAcceptErrors
	for _, f := range authzFamilies {
		ch <- f.d
	}
	ch <- dFlushes
	for _, d := range guardDescs {
		ch <- d
	}
}

func (rc *routerCollector) Collect(ch chan<- prometheus.Metric) {
	r := rc.r
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	counter := func(d *prometheus.Desc, v uint64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), lv...)
	}
	gauge(dBuild, 1, Version, runtime.Version())

	mt, nconns := r.messageTotals()
	gauge(dConns, float64(nconns))
	gauge(dParked, float64(r.stats.parked.Load()))
	for slot, t := range typeOfSlot {
		if n := mt.received[slot]; n > 0 || slices.Contains(receivedTypes, t) {
			counter(dReceived, n, strings.ToLower(t.String()))
		}
		if n := mt.sent[slot]; n > 0 || slices.Contains(sentTypes, t) {
			counter(dSent, n, strings.ToLower(t.String()))
		}
	}
	counter(dBytesIn, mt.bytesIn)
	counter(dBytesOut, mt.bytesOut)
	ch <- mt.calls.metric()

	st := r.Stats()
	for _, c := range problemCounters {
		counter(c.d, c.v(&st))
	}
	gauge(dStored, float64(st.RetainedBytes), "retained")
	gauge(dStored, float64(st.HistoryBytes), "history")
	r.collectErrors(func(uri string, n uint64) { counter(dErrors, n, uri) })
	r.collectJoins(ch)
	r.collectGuards(ch)

	for _, n := range r.realmNames() {
		rm := r.realms[n]
		name := string(n)
		kinds, inFlight := rm.sessionKinds()
		gauge(dInFlight, float64(inFlight), name)
		total := 0
		for k, v := range kinds {
			total += v
			gauge(dSessionKind, float64(v), name, k.transport, k.serializer, k.authmethod)
		}
		gauge(dSessions, float64(total), name)
		gauge(dSubs, float64(rm.broker.Count()), name)
		gauge(dRegs, float64(max(rm.dealer.Count()-len(rm.internal.procs), 0)), name)
		if rm.authz != nil {
			cs := rm.authz.CacheStats()
			for _, f := range authzFamilies {
				ch <- prometheus.MustNewConstMetric(f.d, f.typ, f.v(&cs), name)
			}
			ch <- prometheus.MustNewConstMetric(dFlushes, prometheus.CounterValue, float64(rm.authz.flushes.Load()), name)
		}
	}
}

// realmNames returns the realm names sorted.
func (r *Router) realmNames() []wamp.URI {
	names := make([]wamp.URI, 0, len(r.realms))
	for n := range r.realms {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// sessionKind is the bounded label set of tollgate_sessions_by_kind.
type sessionKind struct{ transport, serializer, authmethod string }

// sessionKinds counts the realm's sessions by kind and their calls in
// flight.
func (rm *realm) sessionKinds() (kinds map[sessionKind]int, inFlight int) {
	kinds = map[sessionKind]int{}
	for _, s := range rm.list() {
		info := s.tc.Info()
		kinds[sessionKind{info.Kind, info.Serializer, s.authmethod}]++
		inFlight += s.peer.CallsInFlight()
	}
	return kinds, inFlight
}
