package codec

import (
	"errors"
	"fmt"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// item is one element of a message to encode.
type item struct {
	k   itemKind
	u   uint64
	s   string
	d   wamp.Dict
	l   wamp.List
	raw []byte
}

type itemKind uint8

const (
	itUint itemKind = iota
	itStr
	itDict
	itList
	itRaw
	itNull
)

// valueEnc is what the shared message encoder needs from a serializer.
type valueEnc interface {
	wamp.ValueCodec
	arrayStart(dst []byte, n int) []byte
	arrayNext(dst []byte, i int) []byte
	arrayEnd(dst []byte) []byte
	appendUint(dst []byte, v uint64) []byte
	appendStr(dst []byte, s string) []byte
	appendValue(dst []byte, v any, depth int) ([]byte, error)
	// emptyList is the encoding of [], written as Arguments when only
	// ArgumentsKw is present.
	emptyList() []byte
}

var errNilMessage = errors.New("codec: nil message")

type items struct {
	n  int
	it [maxElems]item
}

func (is *items) uint(v uint64)      { is.it[is.n] = item{k: itUint, u: v}; is.n++ }
func (is *items) id(v wamp.ID)       { is.uint(uint64(v)) }
func (is *items) str(s string)       { is.it[is.n] = item{k: itStr, s: s}; is.n++ }
func (is *items) uri(u wamp.URI)     { is.str(string(u)) }
func (is *items) dict(d wamp.Dict)   { is.it[is.n] = item{k: itDict, d: d}; is.n++ }
func (is *items) list(l wamp.List)   { is.it[is.n] = item{k: itList, l: l}; is.n++ }
func (is *items) rawItem(raw []byte) { is.it[is.n] = item{k: itRaw, raw: raw}; is.n++ }
func (is *items) null()              { is.it[is.n] = item{k: itNull}; is.n++ }

// payload appends Arguments and ArgumentsKw following spec §3.4.
func (is *items) payload(e valueEnc, p *wamp.Payload) error {
	if p.Raw != nil {
		if p.Raw.Codec != nil && p.Raw.Codec.SerializerID() == e.SerializerID() {
			switch {
			case p.Raw.Kwargs != nil:
				if p.Raw.Args != nil {
					is.rawItem(p.Raw.Args)
				} else {
					is.rawItem(e.emptyList())
				}
				is.rawItem(p.Raw.Kwargs)
			case p.Raw.Args != nil:
				is.rawItem(p.Raw.Args)
			}
			return nil
		}
		if p.Raw.Codec == nil {
			return errors.New("codec: raw payload without a codec")
		}
		args, kwargs, err := p.Values()
		if err != nil {
			return fmt.Errorf("codec: transcoding payload: %w", err)
		}
		return is.values(args, kwargs)
	}
	return is.values(p.Args, p.Kwargs)
}

func (is *items) values(args wamp.List, kwargs wamp.Dict) error {
	switch {
	case len(kwargs) > 0:
		if args == nil {
			args = wamp.List{}
		}
		is.list(args)
		is.dict(kwargs)
	case len(args) > 0:
		is.list(args)
	}
	return nil
}

// encodeMessage is the serializer-independent part of Encode.
func encodeMessage(e valueEnc, dst []byte, m wamp.Message) ([]byte, error) {
	var is items
	if m == nil {
		return dst, errNilMessage
	}
	is.uint(uint64(m.MessageType()))
	handled, err := is.collectSession(e, m)
	if !handled && err == nil {
		handled, err = is.collectPubSub(e, m)
	}
	if !handled && err == nil {
		handled, err = is.collectRPC(e, m)
	}
	if err != nil {
		return dst, err
	}
	if !handled {
		return dst, fmt.Errorf("codec: cannot encode message type %T", m)
	}
	return is.write(e, dst)
}

// collectSession adds the elements of the session and error messages after the type code;
// handled is false for any other message.
func (is *items) collectSession(e valueEnc, m wamp.Message) (handled bool, err error) {
	switch m := m.(type) {
	case *wamp.Hello:
		if m == nil {
			return true, errNilMessage
		}
		if m.Realm == "" {
			is.null() // no realm: the router chooses (as Autobahn sends it)
		} else {
			is.uri(m.Realm)
		}
		is.dict(m.Details)
	case *wamp.Welcome:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Session)
		is.dict(m.Details)
	case *wamp.Abort:
		if m == nil {
			return true, errNilMessage
		}
		is.dict(m.Details)
		is.uri(m.Reason)
		return true, is.payload(e, &m.Payload)
	case *wamp.Challenge:
		if m == nil {
			return true, errNilMessage
		}
		is.str(m.AuthMethod)
		is.dict(m.Extra)
	case *wamp.Authenticate:
		if m == nil {
			return true, errNilMessage
		}
		is.str(m.Signature)
		is.dict(m.Extra)
	case *wamp.Goodbye:
		if m == nil {
			return true, errNilMessage
		}
		is.dict(m.Details)
		is.uri(m.Reason)
	case *wamp.Error:
		if m == nil {
			return true, errNilMessage
		}
		is.uint(uint64(m.RequestType))
		is.id(m.Request)
		is.dict(m.Details)
		is.uri(m.Error)
		return true, is.payload(e, &m.Payload)
	default:
		return false, nil
	}
	return true, nil
}

// collectPubSub adds the elements of the publish/subscribe messages after the type code;
// handled is false for any other message.
func (is *items) collectPubSub(e valueEnc, m wamp.Message) (handled bool, err error) {
	switch m := m.(type) {
	case *wamp.Publish:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
		is.uri(m.Topic)
		return true, is.payload(e, &m.Payload)
	case *wamp.Published:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Publication)
	case *wamp.Subscribe:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
		is.uri(m.Topic)
	case *wamp.Subscribed:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Subscription)
	case *wamp.Unsubscribe:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Subscription)
	case *wamp.Unsubscribed:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		if m.Details != nil {
			is.dict(m.Details)
		}
	case *wamp.Event:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Subscription)
		is.id(m.Publication)
		is.dict(m.Details)
		return true, is.payload(e, &m.Payload)
	default:
		return false, nil
	}
	return true, nil
}

// collectRPC adds the elements of the RPC messages after the type code;
// handled is false for any other message.
func (is *items) collectRPC(e valueEnc, m wamp.Message) (handled bool, err error) {
	switch m := m.(type) {
	case *wamp.Call:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
		is.uri(m.Procedure)
		return true, is.payload(e, &m.Payload)
	case *wamp.Cancel:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
	case *wamp.Result:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Details)
		return true, is.payload(e, &m.Payload)
	case *wamp.Register:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
		is.uri(m.Procedure)
	case *wamp.Registered:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Registration)
	case *wamp.Unregister:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Registration)
	case *wamp.Unregistered:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		if m.Details != nil {
			is.dict(m.Details)
		}
	case *wamp.Invocation:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Registration)
		is.dict(m.Details)
		return true, is.payload(e, &m.Payload)
	case *wamp.Interrupt:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
	case *wamp.Yield:
		if m == nil {
			return true, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
		return true, is.payload(e, &m.Payload)
	default:
		return false, nil
	}
	return true, nil
}

// write encodes the collected elements as one array.
func (is *items) write(e valueEnc, dst []byte) ([]byte, error) {
	var err error
	start := len(dst)
	dst = e.arrayStart(dst, is.n)
	for i := 0; i < is.n; i++ {
		dst = e.arrayNext(dst, i)
		it := &is.it[i]
		switch it.k {
		case itUint:
			dst = e.appendUint(dst, it.u)
		case itStr:
			dst = e.appendStr(dst, it.s)
		case itNull:
			dst, err = e.appendValue(dst, nil, 1)
		case itDict:
			if it.d == nil {
				dst, err = e.appendValue(dst, wamp.Dict{}, 1)
			} else {
				dst, err = e.appendValue(dst, it.d, 1)
			}
		case itList:
			// Element by element: passing it.l to appendValue would box
			// the slice header, one allocation per message.
			dst = e.arrayStart(dst, len(it.l))
			for j, v := range it.l {
				dst = e.arrayNext(dst, j)
				if dst, err = e.appendValue(dst, v, 2); err != nil {
					break
				}
			}
			dst = e.arrayEnd(dst)
		case itRaw:
			dst = append(dst, it.raw...)
		}
		if err != nil {
			return dst[:start], err
		}
	}
	return e.arrayEnd(dst), nil
}
