package client

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Registry collects procedures and event subscribers before a session
// exists, then is attached to sessions (Session.Attach or Config.Registry).
// A session re-attaches its registries after every reconnect.
//
// Handlers are validated when added: Procedure and Subscriber return the
// error, and also record it, so Attach and Dial report it too (Err returns
// all recorded errors). An invalid entry is never attached.
//
// A Registry is safe for concurrent use. Entries added after it was
// attached take effect on the next Attach (for example after a reconnect).
type Registry struct {
	mu      sync.Mutex
	prefix  string
	entries []regEntry
	names   map[string]bool
	errs    []error
}

type regEntry struct {
	kind  opKind // opRegister or opSubscribe
	uri   wamp.URI
	fn    any
	opts  []Option
	proc  procHandler
	event eventHandler
}

// NewRegistry returns an empty registry whose names are prefixed with
// prefix (e.g. "com.example."; "" for none).
func NewRegistry(prefix string) *Registry {
	return &Registry{prefix: prefix, names: map[string]bool{}}
}

// Procedure adds a procedure: name (prefixed with the registry's prefix),
// a plain HandlerFunc or typed function (see Session.Register), and
// register options (Match, Invoke, DiscloseCaller, ParamNames, WireOption).
func (r *Registry) Procedure(name string, fn any, opts ...Option) error {
	return r.add(opRegister, name, fn, opts)
}

// Subscriber adds an event handler for topic name (prefixed), with a plain
// EventFunc or typed function (see Session.Subscribe) and subscribe options
// (Match, ParamNames, WireOption).
func (r *Registry) Subscriber(name string, fn any, opts ...Option) error {
	return r.add(opSubscribe, name, fn, opts)
}

func (r *Registry) add(k opKind, name string, fn any, opts []Option) error {
	uri := wamp.URI(r.prefix + name)
	err := r.validate(k, uri, fn, opts)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		key := fmt.Sprintf("%d:%s", k, uri)
		if r.names[key] {
			err = fmt.Errorf("client: registry: %s %s added twice", kindNoun(k), uri)
		} else {
			r.names[key] = true
			e := regEntry{kind: k, uri: uri, fn: fn, opts: opts}
			ro, _ := resolveOptions(k, nil, opts)
			if k == opRegister {
				e.proc, _ = procHandlerOf(fn, ro.names)
			} else {
				e.event, _ = eventHandlerOf(fn, ro.names)
			}
			r.entries = append(r.entries, e)
		}
	}
	if err != nil {
		r.errs = append(r.errs, err)
	}
	return err
}

func kindNoun(k opKind) string {
	if k == opRegister {
		return "procedure"
	}
	return "subscriber"
}

func (r *Registry) validate(k opKind, uri wamp.URI, fn any, opts []Option) error {
	ro, err := resolveOptions(k, nil, opts)
	if err != nil {
		return fmt.Errorf("client: registry: %s %s: %w", kindNoun(k), uri, err)
	}
	match := ro.match
	if match == "" {
		match = wamp.MatchExact
	}
	if !wamp.ValidURI(uri, false, match) {
		return fmt.Errorf("client: registry: invalid URI %q for match %s", uri, match)
	}
	if k == opRegister {
		_, err = procHandlerOf(fn, ro.names)
	} else {
		_, err = eventHandlerOf(fn, ro.names)
	}
	if err != nil {
		return fmt.Errorf("client: registry: %s %s: %w", kindNoun(k), uri, err)
	}
	return nil
}

// Add copies every entry of other into r, with r's prefix in front of
// other's (already prefixed) names; other's recorded errors are copied
// too. Later changes to other do not affect r. Add returns the errors of
// entries that clash with names already in r.
func (r *Registry) Add(other *Registry) error {
	if other == nil || other == r {
		return errors.New("client: registry: Add needs another registry")
	}
	other.mu.Lock()
	entries := append([]regEntry(nil), other.entries...)
	oerrs := append([]error(nil), other.errs...)
	other.mu.Unlock()

	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, oerrs...)
	var errs []error
	for _, e := range entries {
		e.uri = wamp.URI(r.prefix) + e.uri
		key := fmt.Sprintf("%d:%s", e.kind, e.uri)
		if r.names[key] {
			err := fmt.Errorf("client: registry: %s %s added twice", kindNoun(e.kind), e.uri)
			r.errs = append(r.errs, err)
			errs = append(errs, err)
			continue
		}
		r.names[key] = true
		r.entries = append(r.entries, e)
	}
	return errors.Join(errs...)
}

// Err returns every error recorded by Procedure, Subscriber and Add,
// joined, or nil.
func (r *Registry) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

// Len returns the number of valid entries.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}

func (r *Registry) snapshot() ([]regEntry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]regEntry(nil), r.entries...), errors.Join(r.errs...)
}

// Attach registers every procedure and subscribes every subscriber of reg
// on this session, and remembers reg so it is attached again after a
// reconnect. If reg has recorded errors (Registry.Err) or any entry fails,
// Attach undoes what it attached and returns the error; reg is then not
// remembered.
func (s *Session) Attach(ctx context.Context, reg *Registry) error {
	if reg == nil {
		return errors.New("client: Attach needs a registry")
	}
	lk, err := s.current(ctx)
	if err != nil {
		return err
	}
	if err := lk.attach(ctx, reg); err != nil {
		return err
	}
	s.mu.Lock()
	s.regs = append(s.regs, reg)
	s.mu.Unlock()
	return nil
}

func (s *Session) attachAll(ctx context.Context, lk *link) error {
	s.mu.Lock()
	regs := append([]*Registry(nil), s.regs...)
	s.mu.Unlock()
	for _, r := range regs {
		if err := lk.attach(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// attach registers and subscribes every entry of reg; on failure it undoes
// what it did.
func (lk *link) attach(ctx context.Context, reg *Registry) error {
	entries, err := reg.snapshot()
	if err != nil {
		return err
	}
	var (
		subs []*Subscription
		regs []*Registration
	)
	undo := func() {
		for _, s := range subs {
			_ = lk.unsubscribe(ctx, s)
		}
		for _, r := range regs {
			_ = lk.unregister(ctx, r)
		}
	}
	for _, e := range entries {
		ro, err := resolveOptions(e.kind, &lk.info, e.opts)
		if err == nil {
			if e.kind == opRegister {
				var r *Registration
				if r, err = lk.register(ctx, e.uri, e.proc, ro); err == nil {
					regs = append(regs, r)
				}
			} else {
				var s *Subscription
				if s, err = lk.subscribe(ctx, e.uri, e.event, ro); err == nil {
					subs = append(subs, s)
				}
			}
		}
		if err != nil {
			undo()
			return fmt.Errorf("client: attaching %s %s: %w", kindNoun(e.kind), e.uri, err)
		}
	}
	return nil
}
