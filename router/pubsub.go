package router

import (
	"fmt"
	"slices"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Publish and subscribe: each request is parsed once into its typed form,
// checked against the realm's policy (policy.go) and handed to the broker.

// subscribeRequest is a parsed SUBSCRIBE.
type subscribeRequest struct {
	*wamp.Subscribe
	match       string
	getRetained bool
	// errURI and msg are the ERROR answering a malformed SUBSCRIBE; errURI
	// is "" for a well-formed one.
	errURI wamp.URI
	msg    string
}

func parseSubscribe(m *wamp.Subscribe, strict bool) subscribeRequest {
	r := subscribeRequest{Subscribe: m}
	var ok bool
	switch r.match, ok = wamp.MatchPolicy(m.Options); {
	case !ok:
		r.errURI, r.msg = wamp.ErrInvalidArgument, fmt.Sprintf("unknown match policy %v", m.Options["match"])
	case !wamp.ValidURI(m.Topic, strict, r.match):
		r.errURI, r.msg = wamp.ErrInvalidURI, fmt.Sprintf("invalid topic URI %q for match %q", m.Topic, r.match)
	case !optional(m.Options, "get_retained", wamp.OptBool, &r.getRetained):
		r.errURI, r.msg = wamp.ErrInvalidArgument, "option get_retained must be a bool"
	}
	return r
}

func (s *session) subscribe(r subscribeRequest) {
	if r.errURI != "" {
		s.replyError(wamp.TypeSubscribe, r.Request, r.errURI, r.msg)
		return
	}
	since := s.realm.revocations() // revoke.go
	if d := s.authorize(authz.ActionSubscribe, r.Topic, r.Options); !d.Allow {
		uri, msg := refusal(d, authz.ActionSubscribe, r.Topic)
		s.replyError(wamp.TypeSubscribe, r.Request, uri, msg)
		return
	}
	if !s.mayAddSubscription(r.Request) {
		return
	}
	rm := s.realm
	id, created, added := rm.broker.Attach(s, r.Topic, r.match)
	if !slices.Contains(s.subs, id) {
		s.subs = append(s.subs, id)
	}
	s.send(&wamp.Subscribed{Request: r.Request, Subscription: id})
	if r.getRetained {
		rm.broker.SendRetained(s, id)
	}
	rm.meta.Subscribed(s, id, created, added)
	s.recheckIfRevoked(since, authz.ActionSubscribe, id, r.Topic, r.Options)
}

func (s *session) unsubscribe(m *wamp.Unsubscribe) {
	d, ok := s.realm.broker.Detach(s, m.Subscription)
	if !ok {
		s.replyError(wamp.TypeUnsubscribe, m.Request, wamp.ErrNoSuchSubscription, "")
		return
	}
	for i, id := range s.subs {
		if id == m.Subscription {
			s.subs = append(s.subs[:i], s.subs[i+1:]...)
			break
		}
	}
	s.send(&wamp.Unsubscribed{Request: m.Request})
	s.realm.meta.Unsubscribed(s, d)
}

// publishRequest is a parsed PUBLISH. Its problems are reported where the
// spec-order checks put them: a bad URI before authorization, bad options
// after it.
type publishRequest struct {
	*wamp.Publish
	ack bool
	ppt bool // uses payload passthru mode
	// pub has the options applied; ID, Publisher and Disclose are set when
	// it is published.
	pub               broker.Publication
	badURI, badOption string
}

func parsePublish(m *wamp.Publish, strict bool) publishRequest {
	r := publishRequest{Publish: m, pub: broker.Publication{Topic: m.Topic, ExcludeMe: true, Payload: m.Payload}}
	r.ack, _ = wamp.OptBool(m.Options, "acknowledge")
	r.ppt = isPPT(m.Options)
	if !wamp.ValidURI(m.Topic, strict, wamp.MatchExact) {
		r.badURI = fmt.Sprintf("invalid topic URI %q", m.Topic)
	}
	r.badOption = r.pub.SetOptions(m.Options)
	if r.badOption == "" && !optional(m.Options, "retain", wamp.OptBool, &r.pub.Retain) {
		r.badOption = "option retain must be a bool"
	}
	if r.badOption == "" {
		r.pub.Extra, r.badOption = pptOptions(m.Options)
	}
	return r
}

// publish handles a PUBLISH; false means the session was aborted.
func (s *session) publish(r publishRequest) bool {
	if r.ppt && !s.features.publisherPPT {
		return s.violation("PUBLISH uses payload passthru mode (ppt_scheme) but HELLO did not announce publisher feature payload_passthru_mode")
	}
	fail := func(uri wamp.URI, msg string) bool {
		if r.ack {
			s.replyError(wamp.TypePublish, r.Request, uri, msg)
		} else {
			s.r.stats.droppedPublications.Add(1)
		}
		return true
	}
	if r.badURI != "" {
		return fail(wamp.ErrInvalidURI, r.badURI)
	}
	if reservedURI(r.Topic) && s.authrole != authz.RoleTrusted {
		return fail(wamp.ErrInvalidURI, "publishing to wamp.* and tollgate.* topics is reserved to the router")
	}
	d := s.authorize(authz.ActionPublish, r.Topic, r.Options)
	if !d.Allow {
		return fail(refusal(d, authz.ActionPublish, r.Topic))
	}
	if r.badOption != "" {
		return fail(wamp.ErrInvalidArgument, r.badOption)
	}
	p := &r.pub
	p.ID = wamp.GlobalID()
	p.Publisher = s
	// Disclosure is the authorizer's decision (as in Crossbar), not the
	// publisher's disclose_me.
	p.Disclose = d.Disclose
	s.realm.broker.Publish(p)
	s.realm.cl.publish(s.realm, p)
	if r.ack {
		s.send(&wamp.Published{Request: r.Request, Publication: p.ID})
	}
	return true
}
