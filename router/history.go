package router

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// procGetEvents returns stored events of a subscription (spec §12.8).
const procGetEvents wamp.URI = "wamp.subscription.get_events"

// defaultRetainedEvents bounds retained events per realm.
const defaultRetainedEvents = 10000

// defaultHistoryLimit is HistoryConfig.Limit's default (Crossbar's global
// store limit).
const defaultHistoryLimit = 100

// Defaults of the stored-event byte bounds (RealmOptions).
const (
	DefaultStoredEventBytes = 1 << 20  // one retained or history event
	DefaultRetainedBytes    = 64 << 20 // all retained events of a realm
	DefaultHistoryBytes     = 16 << 20 // one event-history entry
)

// HistoryError is a problem with one entry of RealmOptions.EventHistory.
// New and ValidateEventHistory report each as its own *HistoryError
// (joined), so a caller can place it with errors.As instead of reading
// the text.
type HistoryError struct {
	Index int      // in RealmOptions.EventHistory
	Topic wamp.URI // the entry's URI
	// Field is the entry's field at fault: "uri", "match" or "limit"; ""
	// for a second entry with the same URI and match (see First).
	Field string
	// First is, for such a duplicate, the index of the first entry with
	// the same URI and match; -1 otherwise.
	First int
	Msg   string // what is wrong, e.g. `invalid topic URI "x" for match "exact"`
}

func (e *HistoryError) Error() string { return fmt.Sprintf("event history %d: %s", e.Index, e.Msg) }

// ValidateEventHistory checks o.EventHistory (against o.URICheck) exactly
// as New does, without building a router: nil, or the *HistoryError of
// every bad entry joined with errors.Join.
func ValidateEventHistory(o RealmOptions) error {
	strict := o.URICheck != "loose"
	var errs []error
	seen := map[HistoryConfig]int{} // by URI and match, limit zeroed
	for i, h := range o.EventHistory {
		bad := func(field string, format string, a ...any) {
			errs = append(errs, &HistoryError{Index: i, Topic: h.URI, Field: field, First: -1, Msg: fmt.Sprintf(format, a...)})
		}
		m := h.Match
		if m == "" {
			m = wamp.MatchExact
		}
		switch {
		case m != wamp.MatchExact && m != wamp.MatchPrefix && m != wamp.MatchWildcard:
			bad("match", "match must be exact, prefix or wildcard, got %q", h.Match)
			continue
		case !wamp.ValidURI(h.URI, strict, m):
			bad("uri", "invalid topic URI %q for match %q", h.URI, m)
		}
		if h.Limit < 0 {
			bad("limit", "limit must be positive, got %d", h.Limit)
			continue
		}
		key := HistoryConfig{URI: h.URI, Match: m}
		if j, dup := seen[key]; dup {
			errs = append(errs, &HistoryError{Index: i, Topic: h.URI, First: j, Msg: fmt.Sprintf("%s (match %s) configured twice", h.URI, m)})
			continue
		}
		seen[key] = i
	}
	return errors.Join(errs...)
}

// setupEvents configures the realm's event retention and event history,
// and registers wamp.subscription.get_events.
func (rm *realm) setupEvents(o RealmOptions) error {
	switch {
	case o.RetainedEvents == 0:
		rm.broker.SetRetention(defaultRetainedEvents)
	case o.RetainedEvents > 0:
		rm.broker.SetRetention(o.RetainedEvents)
	}
	rm.broker.SetStoreBounds(broker.StoreBounds{
		EventBytes:    int64(bound(o.StoredEventBytes, DefaultStoredEventBytes)),
		RetainedBytes: int64(bound(o.RetainedBytes, DefaultRetainedBytes)),
		Evicted:       &rm.stats.storedEvicted,
		TooLarge:      &rm.stats.storedTooLarge,
	})
	if err := ValidateEventHistory(o); err != nil {
		return err
	}
	cfgs := make([]broker.HistoryConfig, len(o.EventHistory))
	for i, h := range o.EventHistory {
		m := h.Match
		if m == "" {
			m = wamp.MatchExact
		}
		limit := h.Limit
		if limit == 0 {
			limit = defaultHistoryLimit
		}
		cfgs[i] = broker.HistoryConfig{Topic: h.URI, Match: m, Limit: limit, Bytes: int64(bound(o.HistoryBytes, DefaultHistoryBytes))}
	}
	if err := rm.broker.SetHistory(cfgs); err != nil {
		return err // not reached: ValidateEventHistory checks what SetHistory does
	}
	rm.internal.register(procGetEvents, rm.getEvents)
	return nil
}

// getEvents serves wamp.subscription.get_events.
//
//	get_events(subscription_id, limit?)            Crossbar's form: newest first
//	get_events(subscription_id, **filters)         the spec's form: oldest first
//
// Filters (all optional, ANDed): reverse (bool: newest first), limit
// (positive: keep the newest that many), from_time, after_time,
// before_time, until_time (RFC 3339), topic (for pattern subscriptions),
// from_publication, after_publication, before_publication,
// until_publication (positions in the history, inclusive for from/until).
// The caller must be allowed to subscribe to the subscription's topic.
// The result is one list of event dicts: timestamp, subscription,
// publication, topic, details, args?, kwargs?.
func (rm *realm) getEvents(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	bad := func(format string, a ...any) error {
		return &wamp.CallError{URI: wamp.ErrInvalidArgument, Args: wamp.List{fmt.Sprintf(format, a...)}}
	}
	if len(args) == 0 || len(args) > 2 {
		return nil, nil, bad("%s takes a subscription id and an optional limit", procGetEvents)
	}
	n, ok := wamp.AsInt(args[0])
	if !ok || !wamp.ID(n).Valid() {
		return nil, nil, bad("subscription id must be an integer in [1, 2^53], got %v", args[0])
	}
	q, err := parseEventQuery(kwargs)
	if err != nil {
		return nil, nil, bad("%v", err)
	}
	if len(args) == 2 {
		l, ok := wamp.AsInt(args[1])
		if !ok || l <= 0 {
			return nil, nil, bad("limit must be a positive integer, got %v", args[1])
		}
		q.limit = int(l)
		q.reverse = true // Crossbar returns newest first
	}

	s := rm.session(caller)
	if s == nil {
		return nil, nil, &wamp.CallError{URI: wamp.ErrNoSuchSession, Args: wamp.List{"the caller is not a session of this realm"}}
	}
	info, evs, err := rm.broker.History(wamp.ID(n), s)
	// Reading the history is seeing the events: the caller must be allowed
	// to subscribe to the subscription's topic (spec §12.8), and only
	// trusted sessions see subscriptions on reserved (meta) topics. A
	// refusal reads exactly like an unknown id, so the answer never tells
	// whether the subscription exists or what its topic is.
	if errors.Is(err, broker.ErrNoSuchSubscription) ||
		reservedURI(info.Topic) && s.authrole != authz.RoleTrusted ||
		!s.authorize(authz.ActionSubscribe, info.Topic, wamp.Dict{"match": info.Match}).Allow {
		return nil, nil, &wamp.CallError{URI: wamp.ErrNoSuchSubscription, Args: wamp.List{fmt.Sprintf("no subscription %d", n)}}
	}
	if errors.Is(err, broker.ErrNoHistory) {
		return nil, nil, bad("no event history is configured for subscription %d (%s, match %s)", n, info.Topic, info.Match)
	}
	evs, err = q.apply(evs)
	if err != nil {
		return nil, nil, bad("%v", err)
	}
	out := make(wamp.List, 0, len(evs))
	for _, e := range evs {
		a, k, err := e.Payload.Values()
		if err != nil {
			return nil, nil, fmt.Errorf("stored event %d: %w", e.Publication, err)
		}
		ev := wamp.Dict{
			"timestamp":    e.Time.UTC().Format(time.RFC3339Nano),
			"subscription": uint64(info.ID),
			"publication":  uint64(e.Publication),
			"topic":        string(e.Topic),
			"details":      e.Details,
		}
		if a != nil {
			ev["args"] = a
		}
		if k != nil {
			ev["kwargs"] = k
		}
		out = append(out, ev)
	}
	return wamp.List{out}, nil, nil
}

// eventQuery is a parsed get_events filter.
type eventQuery struct {
	reverse                                 bool
	limit                                   int
	fromTime, afterTime, beforeTime, until  time.Time
	topic                                   wamp.URI
	fromPub, afterPub, beforePub, untilPub  wamp.ID
	hasFrom, hasAfter, hasBefore, hasUntilT bool
}

func parseEventQuery(kw wamp.Dict) (q eventQuery, err error) {
	for k, v := range kw {
		var ok bool
		switch k {
		case "reverse":
			q.reverse, ok = v.(bool)
		case "limit":
			var n int64
			n, ok = wamp.AsInt(v)
			ok = ok && n > 0
			q.limit = int(n)
		case "from_time", "after_time", "before_time", "until_time":
			var str string
			if str, ok = v.(string); ok {
				t, perr := time.Parse(time.RFC3339Nano, str)
				if perr != nil {
					return q, fmt.Errorf("%s must be an RFC 3339 time: %v", k, perr)
				}
				switch k {
				case "from_time":
					q.fromTime, q.hasFrom = t, true
				case "after_time":
					q.afterTime, q.hasAfter = t, true
				case "before_time":
					q.beforeTime, q.hasBefore = t, true
				default:
					q.until, q.hasUntilT = t, true
				}
			}
		case "topic":
			var str string
			str, ok = v.(string)
			q.topic = wamp.URI(str)
		case "from_publication", "after_publication", "before_publication", "until_publication":
			var id wamp.ID
			var n int64
			n, ok = wamp.AsInt(v)
			id = wamp.ID(n)
			ok = ok && id.Valid()
			switch k {
			case "from_publication":
				q.fromPub = id
			case "after_publication":
				q.afterPub = id
			case "before_publication":
				q.beforePub = id
			default:
				q.untilPub = id
			}
		default:
			return q, fmt.Errorf("unknown keyword argument %q (want reverse, limit, from_time, after_time, before_time, until_time, topic, from_publication, after_publication, before_publication, until_publication)", k)
		}
		if !ok {
			return q, fmt.Errorf("keyword argument %q has a bad value %v (%T)", k, v, v)
		}
	}
	return q, nil
}

// apply filters evs (oldest first), keeps the newest limit events and
// orders them. Publication bounds refer to positions in evs; an id that is
// not there (evicted, filtered or never stored) is an error.
func (q *eventQuery) apply(evs []broker.StoredEvent) ([]broker.StoredEvent, error) {
	pos := func(id wamp.ID, name string) (int, error) {
		i := slices.IndexFunc(evs, func(e broker.StoredEvent) bool { return e.Publication == id })
		if i < 0 {
			return 0, fmt.Errorf("%s %d is not in the history (evicted, not visible to you, or never stored)", name, id)
		}
		return i, nil
	}
	lo, hi := 0, len(evs) // the window [lo, hi)
	var err error
	var i int
	if q.fromPub != 0 {
		if i, err = pos(q.fromPub, "from_publication"); err != nil {
			return nil, err
		}
		lo = max(lo, i)
	}
	if q.afterPub != 0 {
		if i, err = pos(q.afterPub, "after_publication"); err != nil {
			return nil, err
		}
		lo = max(lo, i+1)
	}
	if q.beforePub != 0 {
		if i, err = pos(q.beforePub, "before_publication"); err != nil {
			return nil, err
		}
		hi = min(hi, i)
	}
	if q.untilPub != 0 {
		if i, err = pos(q.untilPub, "until_publication"); err != nil {
			return nil, err
		}
		hi = min(hi, i+1)
	}
	var out []broker.StoredEvent
	for j := lo; j < hi; j++ {
		e := evs[j]
		switch {
		case q.topic != "" && e.Topic != q.topic,
			q.hasFrom && e.Time.Before(q.fromTime),
			q.hasAfter && !e.Time.After(q.afterTime),
			q.hasBefore && !e.Time.Before(q.beforeTime),
			q.hasUntilT && e.Time.After(q.until):
			continue
		}
		out = append(out, e)
	}
	if q.limit > 0 && len(out) > q.limit {
		out = out[len(out)-q.limit:]
	}
	if q.reverse {
		slices.Reverse(out)
	}
	return out, nil
}
