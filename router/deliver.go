package router

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Send queues m to the session (dealer.Session, meta.Session). A message
// the peer cannot take is not sent and reported as a *wamp.CallError, so
// the request it answers still gets one answer: ERROR invalid_argument when
// the session's serializer cannot carry it (NaN or ±Inf for JSON),
// payload_size_exceeded when it is larger than the peer announced it
// accepts. dealer.ErrGone: the session is gone or its queue is full.
func (s *session) Send(m wamp.Message) error {
	f, err := s.codec.Encode(nil, m)
	if err != nil {
		s.r.stats.unencodable.Add(1)
		s.log.Debug("cannot encode message", "type", m.MessageType(), "err", err)
		return &wamp.CallError{URI: wamp.ErrInvalidArgument,
			Args: wamp.List{fmt.Sprintf("the receiving peer's %s serializer cannot carry this %v: %v", s.codec.Name(), m.MessageType(), err)}}
	}
	if max := s.tc.MaxSendSize(); max > 0 && len(f) > max {
		s.r.stats.oversize.Add(1)
		return &wamp.CallError{URI: wamp.ErrPayloadSizeExceeded,
			Args: wamp.List{fmt.Sprintf("the %v is %d bytes, the receiving peer accepts at most %d", m.MessageType(), len(f), max)}}
	}
	if !s.enqueue(f, false) {
		return dealer.ErrGone
	}
	s.sent(m, len(f))
	return nil
}

// encodable returns v with every non-finite float (NaN, ±Inf, which JSON
// cannot carry) replaced by nil, copying only the containers it changes;
// changed reports whether it replaced anything. Session details pass
// through it, so a session whose authextra holds NaN is still announced to
// JSON subscribers and returned by wamp.session.get.
func encodable(v any) (out any, changed bool) {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, true
		}
	case float32:
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, true
		}
	case wamp.Dict:
		var d wamp.Dict
		for k, e := range v {
			if c, ch := encodable(e); ch {
				if d == nil {
					d = maps.Clone(v)
				}
				d[k] = c
			}
		}
		if d != nil {
			return d, true
		}
	case wamp.List:
		var l wamp.List
		for i, e := range v {
			if c, ch := encodable(e); ch {
				if l == nil {
					l = slices.Clone(v)
				}
				l[i] = c
			}
		}
		if l != nil {
			return l, true
		}
	}
	return v, false
}
