package wamp

// List is a WAMP list (positional arguments).
type List = []any

// Dict is a WAMP dict (keyword arguments, Options, Details). Use it at the
// edges; routing code reads the few keys it needs through the Opt* helpers.
type Dict = map[string]any

// Payload is the application payload at the end of a message: positional
// Args and keyword Kwargs.
//
// A message decoded from the wire keeps its payload encoded in Raw, so the
// router can forward it without decoding when sender and receiver use the
// same serializer. A message built in Go sets Args/Kwargs and leaves Raw nil.
// When Raw is set, Args and Kwargs are ignored by encoders.
type Payload struct {
	Args   List
	Kwargs Dict
	Raw    *RawPayload
}

// RawPayload is payload still encoded by the serializer that decoded it.
// Args is the encoded list (nil if the message had none), Kwargs the encoded
// dict (nil if absent). The byte slices are immutable once created.
type RawPayload struct {
	Codec  ValueCodec
	Args   []byte
	Kwargs []byte
}

// ValueCodec decodes encoded payload values. It is implemented by the
// serializers in wamp/codec; the indirection keeps this package free of I/O
// and serializer code.
type ValueCodec interface {
	// SerializerID is the RawSocket serializer id (1 JSON, 2 MessagePack, 3 CBOR).
	SerializerID() uint8
	DecodeList(b []byte) (List, error)
	DecodeDict(b []byte) (Dict, error)
}

// Empty reports whether the payload carries neither args nor kwargs.
func (p *Payload) Empty() bool {
	if p.Raw != nil {
		return p.Raw.Args == nil && p.Raw.Kwargs == nil
	}
	return len(p.Args) == 0 && len(p.Kwargs) == 0
}

// Values returns the decoded args and kwargs, decoding Raw if needed.
func (p *Payload) Values() (List, Dict, error) {
	if p.Raw == nil {
		return p.Args, p.Kwargs, nil
	}
	var (
		args   List
		kwargs Dict
		err    error
	)
	if p.Raw.Args != nil {
		if args, err = p.Raw.Codec.DecodeList(p.Raw.Args); err != nil {
			return nil, nil, err
		}
	}
	if p.Raw.Kwargs != nil {
		if kwargs, err = p.Raw.Codec.DecodeDict(p.Raw.Kwargs); err != nil {
			return nil, nil, err
		}
	}
	return args, kwargs, nil
}

// Decoded returns a copy of p with Raw decoded into Args/Kwargs.
func (p Payload) Decoded() (Payload, error) {
	a, k, err := p.Values()
	if err != nil {
		return Payload{}, err
	}
	return Payload{Args: a, Kwargs: k}, nil
}

// PayloadOf returns the payload of m, or nil if m's type carries none.
func PayloadOf(m Message) *Payload {
	switch m := m.(type) {
	case *Abort:
		return &m.Payload
	case *Error:
		return &m.Payload
	case *Publish:
		return &m.Payload
	case *Event:
		return &m.Payload
	case *Call:
		return &m.Payload
	case *Result:
		return &m.Payload
	case *Invocation:
		return &m.Payload
	case *Yield:
		return &m.Payload
	}
	return nil
}
