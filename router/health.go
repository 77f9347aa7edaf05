package router

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Health and status endpoints, served beside every metrics path
// (docs/operations.md): /healthz (the process answers), /readyz (listeners
// bound, not shutting down, and every realm's authorizer procedures
// registered), /status (JSON for `tollgate status`).

// opsState is what /status reports beyond the router's own counters; the
// program running the router (internal/cli) sets the config file and
// reloads.
type opsState struct {
	started time.Time
	mu      sync.Mutex
	file    string
	reload  *ReloadInfo
	// realms are the realm options of the last Reload (reload.go).
	realms atomic.Pointer[[]RealmOptions]
}

// ReloadInfo describes the last config reload.
type ReloadInfo struct {
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
}

// SetConfigFile records the config file the router was started from, for
// /status.
func (r *Router) SetConfigFile(name string) {
	r.ops.mu.Lock()
	r.ops.file = name
	r.ops.mu.Unlock()
}

// NoteReload records a config reload attempt and its outcome, for /status.
func (r *Router) NoteReload(err error) {
	ri := &ReloadInfo{At: time.Now().UTC(), OK: err == nil}
	if err != nil {
		ri.Error = err.Error()
	}
	r.ops.mu.Lock()
	r.ops.reload = ri
	r.ops.mu.Unlock()
}

// Status is the JSON document of /status.
type Status struct {
	Version       string        `json:"version"`
	Started       time.Time     `json:"started"`
	UptimeSeconds float64       `json:"uptime_seconds"`
	ConfigFile    string        `json:"config_file,omitempty"`
	LastReload    *ReloadInfo   `json:"last_reload,omitempty"`
	Connections   int           `json:"connections"`
	Listeners     int           `json:"listeners"`
	Realms        []RealmStatus `json:"realms"`
}

// RealmStatus is one realm in Status.
type RealmStatus struct {
	Name          wamp.URI `json:"name"`
	Sessions      int      `json:"sessions"`
	Registrations int      `json:"registrations"`
	Subscriptions int      `json:"subscriptions"`
	// AuthzCacheEntries and AuthzCacheHitRatio are absent for open realms;
	// the ratio is hits / (hits + misses) since start, 0 before any question.
	AuthzCacheEntries  *int     `json:"authz_cache_entries,omitempty"`
	AuthzCacheHitRatio *float64 `json:"authz_cache_hit_ratio,omitempty"`
	// Missing lists authorizer procedures of the realm's roles that nobody
	// has registered (the realm is not ready while any is missing).
	Missing []wamp.URI `json:"missing_authorizers,omitempty"`
}

// Status returns the router's status as /status serves it.
func (r *Router) Status() Status {
	r.mu.Lock()
	st := Status{Connections: len(r.conns), Listeners: len(r.listeners)}
	r.mu.Unlock()
	r.ops.mu.Lock()
	st.ConfigFile, st.LastReload = r.ops.file, r.ops.reload
	r.ops.mu.Unlock()
	st.Version, st.Started = Version, r.ops.started.UTC()
	st.UptimeSeconds = time.Since(r.ops.started).Seconds()
	st.Realms = []RealmStatus{}
	for _, n := range r.realmNames() {
		rm := r.realms[n]
		rs := RealmStatus{
			Name:          n,
			Sessions:      rm.count(),
			Registrations: max(rm.dealer.Count()-len(rm.internal.procs), 0),
			Subscriptions: rm.broker.Count(),
			Missing:       r.missingAuthorizers(n),
		}
		if rm.authz != nil {
			cs := rm.authz.CacheStats()
			ratio := 0.0
			if q := cs.Hits + cs.Misses; q > 0 {
				ratio = float64(cs.Hits) / float64(q)
			}
			rs.AuthzCacheEntries, rs.AuthzCacheHitRatio = &cs.Entries, &ratio
		}
		st.Realms = append(st.Realms, rs)
	}
	return st
}

// missingAuthorizers lists the authorizer procedures of realm's roles that
// are not registered.
func (r *Router) missingAuthorizers(name wamp.URI) []wamp.URI {
	rm := r.realms[name]
	var missing []wamp.URI
	for _, ro := range r.realmOptions() {
		if ro.Name != name {
			continue
		}
		for _, role := range ro.Roles {
			p := wamp.URI(role.Authorizer)
			if p == "" {
				continue
			}
			if _, ok := rm.dealer.Match(p); !ok {
				missing = append(missing, p)
			}
		}
	}
	return missing
}

// healthHandlers are mounted beside every metrics path.
func (r *Router) healthHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		"/healthz": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			plain(w, http.StatusOK, "ok\n")
		}),
		"/readyz": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			st := r.Status()
			r.mu.Lock()
			closed := r.closed
			r.mu.Unlock()
			switch {
			case closed:
				plain(w, http.StatusServiceUnavailable, "shutting down\n")
				return
			case st.Listeners == 0:
				plain(w, http.StatusServiceUnavailable, "no listener bound\n")
				return
			}
			for _, rs := range st.Realms {
				if len(rs.Missing) > 0 {
					plain(w, http.StatusServiceUnavailable, "realm "+string(rs.Name)+": authorizer "+string(rs.Missing[0])+" is not registered\n")
					return
				}
			}
			plain(w, http.StatusOK, "ready\n")
		}),
		"/status": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.Encode(r.Status())
		}),
	}
}

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write([]byte(body))
}
