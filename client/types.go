package client

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Result is the outcome of a call: the payload of a RESULT (for the
// caller) or of a YIELD (returned by a handler). Details holds
// RESULT.Details (progress, ppt_* etc.) on the caller side. When a handler
// returns a Result, only the ppt_* keys of Details are used: they become
// YIELD options (payload passthru mode, see PPT; the router checks them).
//
// A Result is plain data; do not modify one after handing it over.
type Result struct {
	Args    wamp.List
	Kwargs  wamp.Dict
	Details wamp.Dict
}

// Arg returns positional argument i, or nil when there is none.
func (r *Result) Arg(i int) any {
	if r == nil || i < 0 || i >= len(r.Args) {
		return nil
	}
	return r.Args[i]
}

// Invocation is one call of a registered procedure, as a handler sees it.
//
// Its methods are safe for concurrent use; it must not be used after the
// handler returned.
type Invocation struct {
	// Procedure is the URI actually called (INVOCATION.Details.procedure for
	// pattern registrations, else the registered URI).
	Procedure wamp.URI
	// Registration is the registration id the call arrived on.
	Registration wamp.ID
	Args         wamp.List
	Kwargs       wamp.Dict
	// Details is INVOCATION.Details as received.
	Details wamp.Dict
	// Caller, CallerAuthID and CallerAuthRole identify the caller when the
	// router disclosed it (disclose_me / disclose_caller); zero otherwise.
	Caller         wamp.ID
	CallerAuthID   string
	CallerAuthRole string

	st *invState
}

// ReceiveProgress reports whether the caller asked for progressive results.
func (inv *Invocation) ReceiveProgress() bool {
	v, _ := wamp.OptBool(inv.Details, "receive_progress")
	return v
}

// Progress sends one progressive result to the caller. It fails when the
// caller did not ask for progressive results or the invocation is over.
func (inv *Invocation) Progress(ctx context.Context, args wamp.List, kwargs wamp.Dict) error {
	if !inv.ReceiveProgress() {
		return errors.New("client: caller did not ask for progressive results")
	}
	if inv.st == nil {
		return errors.New("client: invocation is not live")
	}
	return inv.st.progress(ctx, args, kwargs)
}

// ProgressiveInput reports whether the call is a progressive call
// invocation (wamp-spec §11.2): the caller streams its input, Args and
// Kwargs are the first chunk and NextChunk returns the others.
func (inv *Invocation) ProgressiveInput() bool {
	return inv.st != nil && inv.st.chunks != nil
}

// NextChunk returns the next input chunk of a progressive call invocation,
// in the order the caller sent them; the chunk with Last set is the final
// one. After it, and for ordinary calls, NextChunk returns io.EOF. It
// waits for the chunk until ctx ends, and fails when the call is
// interrupted (caller cancel, timeout, session end).
//
// Chunks the handler does not read are dropped when it returns; the answer
// (the handler's result or error) may be given before the last chunk, and
// the router then discards the caller's further chunks. Up to 256 unread
// chunks are buffered per invocation; one more ends the invocation: its
// context is canceled (the cause says why) and, unless the handler
// answers otherwise, the caller gets wamp.error.canceled. The session's
// reads never wait for a handler to take chunks.
func (inv *Invocation) NextChunk(ctx context.Context) (*Chunk, error) {
	if !inv.ProgressiveInput() {
		return nil, io.EOF
	}
	return inv.st.nextChunk(ctx)
}

// Chunk is one further input chunk of a progressive call invocation.
type Chunk struct {
	Args   wamp.List
	Kwargs wamp.Dict
	// Details is the chunk's INVOCATION.Details (progress, ppt_*).
	Details wamp.Dict
	// Last is set on the caller's final chunk.
	Last bool
}

// Event is one event delivered to a subscription handler.
type Event struct {
	// Topic is the URI published to (EVENT.Details.topic for pattern
	// subscriptions, else the subscribed URI).
	Topic        wamp.URI
	Subscription wamp.ID
	Publication  wamp.ID
	Args         wamp.List
	Kwargs       wamp.Dict
	Details      wamp.Dict
	// Retained is set for a retained event sent because of GetRetained
	// (EVENT.Details.retained).
	Retained bool
	// Publisher, PublisherAuthID and PublisherAuthRole identify the
	// publisher when the router disclosed it; zero otherwise.
	Publisher         wamp.ID
	PublisherAuthID   string
	PublisherAuthRole string
}

// CallContext is the optional first parameter of a typed handler. It is a
// context.Context, canceled when the router interrupts the call (CANCEL by
// the caller, call timeout) or the session ends, and carries the call's or
// event's details.
//
// It must not be used after the handler returned.
type CallContext struct {
	context.Context
	// Session is the session the call or event arrived on.
	Session *Session
	// Invocation is set for procedure calls, Event for events.
	Invocation *Invocation
	Event      *Event
	// Procedure (calls) or Topic (events) is the URI actually called or
	// published to, also for pattern registrations and subscriptions.
	Procedure wamp.URI
	Topic     wamp.URI
	// Caller or publisher identity, when disclosed by the router.
	Caller         wamp.ID
	CallerAuthID   string
	CallerAuthRole string
	Details        wamp.Dict
}

// Progress sends one progressive result with positional arguments args.
// Only for procedure calls whose caller asked for progressive results.
func (cc *CallContext) Progress(ctx context.Context, args ...any) error {
	if cc.Invocation == nil {
		return errors.New("client: progressive results only exist for calls")
	}
	list, err := normalizeList(args)
	if err != nil {
		return err
	}
	return cc.Invocation.Progress(ctx, list, nil)
}

// ReceiveProgress reports whether the caller asked for progressive results.
func (cc *CallContext) ReceiveProgress() bool {
	return cc.Invocation != nil && cc.Invocation.ReceiveProgress()
}

// ProgressiveInput reports whether the call streams its input (see
// Invocation.ProgressiveInput); the handler's parameters are decoded from
// the first chunk.
func (cc *CallContext) ProgressiveInput() bool {
	return cc.Invocation != nil && cc.Invocation.ProgressiveInput()
}

// NextChunk returns the call's next input chunk (see
// Invocation.NextChunk); io.EOF after the last one and for events.
func (cc *CallContext) NextChunk(ctx context.Context) (*Chunk, error) {
	if cc.Invocation == nil {
		return nil, io.EOF
	}
	return cc.Invocation.NextChunk(ctx)
}

// Subscription is a handle to one Subscribe. Several handles on one session
// may share a router subscription id.
type Subscription struct {
	ID    wamp.ID
	Topic wamp.URI
	Match string

	handler eventHandler
	lk      *link

	// Events of one handle run one at a time, in the order the router sent
	// them; different subscriptions run concurrently.
	mu      sync.Mutex
	pending []*wamp.Event
	running bool
	slots   chan struct{} // one token per pending event (bounds the backlog)
}

// Registration is a handle to one Register.
type Registration struct {
	ID        wamp.ID
	Procedure wamp.URI
	Match     string

	handler procHandler
	lk      *link
}

// SessionInfo is what the router said in WELCOME. It is immutable.
type SessionInfo struct {
	ID           wamp.ID
	Realm        wamp.URI
	AuthID       string
	AuthRole     string
	AuthMethod   string
	AuthProvider string
	AuthExtra    wamp.Dict
	// Roles is WELCOME.Details.roles: the router's roles and features.
	Roles wamp.Dict
	// Details is WELCOME.Details as received.
	Details wamp.Dict
}

// Supports reports whether the router announced feature for role
// ("broker" or "dealer") in WELCOME.
func (si *SessionInfo) Supports(role, feature string) bool {
	return wamp.HasFeature(si.Roles, role, feature)
}

func infoFromWelcome(realm wamp.URI, w *wamp.Welcome) SessionInfo {
	si := SessionInfo{ID: w.Session, Realm: realm, Details: w.Details}
	if r, ok := wamp.OptString(w.Details, "realm"); ok && r != "" {
		si.Realm = wamp.URI(r) // the router's choice (a null-realm HELLO, a redirect)
	}
	si.AuthID, _ = wamp.OptString(w.Details, "authid")
	si.AuthRole, _ = wamp.OptString(w.Details, "authrole")
	si.AuthMethod, _ = wamp.OptString(w.Details, "authmethod")
	si.AuthProvider, _ = wamp.OptString(w.Details, "authprovider")
	si.AuthExtra, _ = wamp.OptDict(w.Details, "authextra")
	si.Roles, _ = wamp.OptDict(w.Details, "roles")
	return si
}
