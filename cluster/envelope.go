package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// The envelope of a publication on the wire: a 17-byte header (version,
// origin incarnation, per-origin sequence) and then the publication as a
// CBOR EVENT whose Details hold the delivery options. The realm and topic
// are the subject's. A payload kept raw by another serializer is
// transcoded once here; a CBOR one is copied as bytes.
const (
	envelopeVersion = 1
	headerLen       = 17
)

var envCodec = codec.CBOR

// Header identifies a message's origin and place in that origin's stream.
type Header struct {
	// Origin is the sending node's incarnation: random per process start,
	// so a restarted node is a new origin.
	Origin uint64
	Seq    uint64
}

// detail keys of the envelope's EVENT.Details.
const (
	kPublisher = "publisher"
	kAuthID    = "publisher_authid"
	kAuthRole  = "publisher_authrole"
	kRetain    = "retain"
	kExtra     = "x"
)

var idLists = [...]string{"exclude", "eligible"}
var strLists = [...]string{"exclude_authid", "eligible_authid", "exclude_authrole", "eligible_authrole"}

func (p *Publication) idList(i int) *[]wamp.ID {
	return [...]*[]wamp.ID{&p.Exclude, &p.Eligible}[i]
}

func (p *Publication) strList(i int) *[]string {
	return [...]*[]string{&p.ExcludeAuthID, &p.EligibleAuthID, &p.ExcludeAuthRole, &p.EligibleAuthRole}[i]
}

// An Encoder appends envelopes. Its EVENT is reused, which saves an
// allocation per publication; it is not safe for concurrent use.
type Encoder struct{ ev wamp.Event }

// AppendEnvelope appends h and p's encoding to dst with a one-use Encoder.
func AppendEnvelope(dst []byte, h Header, p *Publication) ([]byte, error) {
	var e Encoder
	return e.Append(dst, h, p)
}

// Append appends h and p's encoding to dst. A publication without options
// has no Details map at all (encoded as an empty one).
func (e *Encoder) Append(dst []byte, h Header, p *Publication) ([]byte, error) {
	var d wamp.Dict
	set := func(k string, v any) {
		if d == nil {
			d = wamp.Dict{}
		}
		d[k] = v
	}
	if p.Disclose {
		set(kPublisher, p.Publisher)
		set(kAuthID, p.AuthID)
		set(kAuthRole, p.AuthRole)
	}
	for i, k := range idLists {
		if v := *p.idList(i); v != nil {
			l := make(wamp.List, len(v))
			for j, id := range v {
				l[j] = uint64(id)
			}
			set(k, l)
		}
	}
	for i, k := range strLists {
		if v := *p.strList(i); v != nil {
			l := make(wamp.List, len(v))
			for j, x := range v {
				l[j] = x
			}
			set(k, l)
		}
	}
	if p.Retain {
		set(kRetain, true)
	}
	if len(p.Extra) > 0 {
		set(kExtra, p.Extra)
	}
	dst = append(dst, envelopeVersion)
	dst = binary.BigEndian.AppendUint64(dst, h.Origin)
	dst = binary.BigEndian.AppendUint64(dst, h.Seq)
	e.ev = wamp.Event{Subscription: 1, Publication: p.ID, Details: d, Payload: p.Payload}
	dst, err := envCodec.Encode(dst, &e.ev)
	e.ev = wamp.Event{} // keeps no payload alive
	return dst, err
}

// ReadHeader returns b's header without decoding the publication, so
// duplicates are dropped before any decoding work.
func ReadHeader(b []byte) (Header, error) {
	if len(b) < headerLen || b[0] != envelopeVersion {
		return Header{}, errors.New("cluster: not a publication envelope (version or length)")
	}
	return Header{Origin: binary.BigEndian.Uint64(b[1:9]), Seq: binary.BigEndian.Uint64(b[9:17])}, nil
}

// DecodePublication decodes the publication of envelope b (checked by
// ReadHeader); realm and topic are set by the caller from the subject. The
// payload stays raw CBOR, referring to b.
func DecodePublication(b []byte) (*Publication, error) {
	m, err := envCodec.Decode(b[headerLen:])
	if err != nil {
		return nil, fmt.Errorf("cluster: envelope: %w", err)
	}
	ev, ok := m.(*wamp.Event)
	if !ok {
		return nil, fmt.Errorf("cluster: envelope holds %T, not an EVENT", m)
	}
	d := ev.Details
	p := &Publication{ID: ev.Publication, Payload: ev.Payload}
	if wamp.Has(d, kPublisher) {
		id, ok := wamp.OptID(d, kPublisher)
		if !ok {
			return nil, errors.New("cluster: envelope: bad publisher id")
		}
		p.Disclose, p.Publisher = true, id
		p.AuthID, _ = d[kAuthID].(string)
		p.AuthRole, _ = d[kAuthRole].(string)
	}
	for i, k := range idLists {
		if wamp.Has(d, k) {
			v, ok := wamp.OptIDs(d, k)
			if !ok {
				return nil, errors.New("cluster: envelope: bad " + k)
			}
			*p.idList(i) = v
		}
	}
	for i, k := range strLists {
		if wamp.Has(d, k) {
			v, ok := wamp.OptStrings(d, k)
			if !ok {
				return nil, errors.New("cluster: envelope: bad " + k)
			}
			*p.strList(i) = v
		}
	}
	p.Retain, _ = wamp.OptBool(d, kRetain)
	p.Extra, _ = d[kExtra].(wamp.Dict)
	return p, nil
}
