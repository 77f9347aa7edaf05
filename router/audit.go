package router

import (
	"log/slog"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// The audit trail (docs/operations.md, "Audit log"): one JSON record per
// join, accepted or refused, and per authorization failure, for realms
// with RealmOptions.Audit, written to Options.AuditLog. Records carry
// identities and URIs, never a ticket, signature or an authorizer's error
// text (authz.Decision.Message holds only the kind of failure).

// auditLog returns the audit logger of realm, or nil when it is not audited.
func (r *Router) auditLog(realm wamp.URI) *slog.Logger {
	if r.opts.AuditLog == nil {
		return nil
	}
	for _, ro := range r.realmOptions() {
		if ro.Name == realm && ro.Audit {
			return r.opts.AuditLog
		}
	}
	return nil
}

// auditJoin counts and records an accepted join (lifecycle.join, after WELCOME).
func (s *session) auditJoin() {
	s.r.countJoin(s.authmethod, s.authprovider)
	al := s.r.auditLog(s.realmURI)
	if al == nil {
		return
	}
	info := s.tc.Info()
	al.Info("join", "event", "join", "accepted", true, "realm", s.realmURI, "session", s.id,
		"authid", s.authid, "authrole", s.authrole, "authmethod", s.authmethod, "authprovider", s.authprovider,
		"peer", info.RemoteAddr, "transport", info.Kind, "serializer", info.Serializer)
}

// auditRefused counts and records a join refused by authentication or role checks;
// realm and authid are what the client asked for.
func (s *session) auditRefused(realm wamp.URI, authid string, reason wamp.URI) {
	s.r.countRefusal(reason)
	al := s.r.auditLog(realm)
	if al == nil {
		return
	}
	info := s.tc.Info()
	al.Info("join", "event", "join", "accepted", false, "realm", realm, "authid", authid,
		"reason", reason, "peer", info.RemoteAddr, "transport", info.Kind, "serializer", info.Serializer)
}

// auditAuthzFailure records an authorization denied because the
// authorizer failed (its Message names the kind: timeout, error, ...).
func (s *session) auditAuthzFailure(action authz.Action, uri wamp.URI, d authz.Decision, took time.Duration) {
	al := s.r.auditLog(s.realmURI)
	if al == nil {
		return
	}
	al.Info("authorization", "event", "authorization", "realm", s.realmURI, "session", s.id,
		"authid", s.authid, "authrole", s.authrole, "uri", uri, "action", action, "allow", false,
		"source", "authorizer_failure", "failure", d.Message, "latency_ms", float64(took.Microseconds())/1000)
}
