package router

import (
	"context"
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

// auditDecision records an authorization decision that was not a cache
// hit: its source (a static rule or grant, named by URI and match; the
// authorizer's answer; the default deny), whether the authorizer failed
// (only the kind of failure, never its text) and how long it took.
func (s *session) auditDecision(ctx context.Context, action authz.Action, uri wamp.URI, options wamp.Dict, d authz.Decision, took time.Duration) {
	al := s.r.auditLog(s.realmURI)
	if al == nil {
		return
	}
	source := d.Source
	if d.Failed {
		source = "authorizer_failure"
	}
	attrs := []any{"event", "authorization", "realm", s.realmURI, "session", s.id,
		"authid", s.authid, "authrole", s.authrole, "uri", uri, "action", action, "allow", d.Allow,
		"source", source, "latency_ms", float64(took.Microseconds()) / 1000}
	switch {
	case d.Failed:
		attrs = append(attrs, "failure", d.Message)
	case d.Source == authz.SourceStatic || d.Source == authz.SourceGrant:
		// The rule that governed: Explain evaluates it again, exactly as
		// Authorize did, without side effects (only when auditing).
		if e := s.realm.authz.Explain(ctx, s.az, uri, action, options, false); e.RuleURI != "" || e.RuleMatch != "" {
			attrs = append(attrs, "rule_uri", e.RuleURI, "rule_match", e.RuleMatch)
		}
	}
	al.Info("authorization", attrs...)
}
