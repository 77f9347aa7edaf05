package auth

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"net"
	"strings"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TransportDetails describes a connection as the dict dynamic
// authenticators receive in details.transport, with Crossbar's key names
// (Autobahn TransportDetails):
//
//	type, channel_type    "tcp", "tls" (TCP with TLS) or "unix"
//	channel_framing       "websocket" or "rawsocket"
//	channel_serializer    "json", "msgpack" or "cbor"
//	peer, own             "tcp4:127.0.0.1:48638", "tcp6:::1:8080", "unix"
//	is_server             true
//	is_secure             whether the connection uses TLS
//	websocket_protocol    the WebSocket subprotocol, null for RawSocket
//	http_headers_received the WebSocket upgrade request headers the
//	                      endpoint's allow-list kept (info.HTTPHeaders;
//	                      {} when none), keys lower-cased, repeated
//	                      headers joined with ", "; null for RawSocket
//	channel_id            {"tls-unique": hex, "tls-exporter": hex} for the
//	                      types this connection supports, null without TLS
//	peer_cert             the client certificate (see below), or null
//
// peer_cert has sha1 and sha256 (upper-case colon hex fingerprints of the
// DER certificate), subject and issuer (dicts keyed by lower-case short
// attribute names: cn, o, ou, c, st, l, serialnumber, emailaddress, dc,
// uid, others by dotted OID; the values of a repeated attribute are joined
// with ", " in certificate order),
// not_before and not_after (RFC 3339, UTC), expired, serial (decimal
// string), version and signature_algorithm.
//
// The dict is new on each call; the caller may modify it.
func TransportDetails(info transport.Info) wamp.Dict {
	typ := "tcp"
	switch {
	case info.Network == "unix":
		typ = "unix"
	case info.TLS != nil:
		typ = "tls"
	}
	d := wamp.Dict{
		"type":                  typ,
		"channel_type":          typ,
		"channel_framing":       info.Kind,
		"channel_serializer":    info.Serializer,
		"peer":                  peerString(info.Network, info.RemoteAddr),
		"own":                   peerString(info.Network, info.LocalAddr),
		"is_server":             true,
		"is_secure":             info.TLS != nil,
		"websocket_protocol":    nil,
		"http_headers_received": nil,
		"channel_id":            nil,
		"peer_cert":             nil,
	}
	if info.Protocol != "" {
		d["websocket_protocol"] = info.Protocol
	}
	if info.HTTPHeaders != nil {
		h := make(wamp.Dict, len(info.HTTPHeaders))
		for k, vs := range info.HTTPHeaders {
			h[strings.ToLower(k)] = strings.Join(vs, ", ")
		}
		d["http_headers_received"] = h
	}
	if cs := info.TLS; cs != nil {
		ids := wamp.Dict{}
		for _, typ := range []string{ChannelBindingTLSUnique, ChannelBindingTLSExporter} {
			if b, err := ChannelID(cs, typ); err == nil {
				ids[typ] = hex.EncodeToString(b)
			}
		}
		d["channel_id"] = ids
		if len(cs.PeerCertificates) > 0 {
			d["peer_cert"] = certDetails(cs.PeerCertificates[0])
		}
	}
	return d
}

// peerString formats an address the way Autobahn does: "tcp4:host:port",
// "tcp6:host:port", or "unix" for Unix sockets.
func peerString(network, addr string) string {
	if network == "unix" {
		return "unix"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if addr == "" {
			return "tcp"
		}
		return "tcp:" + addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "tcp6:" + host + ":" + port
	}
	return "tcp4:" + host + ":" + port
}

// certDetails describes a certificate as Crossbar's peer_cert dict.
func certDetails(c *x509.Certificate) wamp.Dict {
	s1, s256 := sha1.Sum(c.Raw), sha256.Sum256(c.Raw)
	serial := ""
	if c.SerialNumber != nil {
		serial = c.SerialNumber.String()
	}
	now := time.Now()
	return wamp.Dict{
		"sha1":                colonHex(s1[:]),
		"sha256":              colonHex(s256[:]),
		"subject":             nameDetails(c.Subject),
		"issuer":              nameDetails(c.Issuer),
		"not_before":          c.NotBefore.UTC().Format(time.RFC3339),
		"not_after":           c.NotAfter.UTC().Format(time.RFC3339),
		"expired":             now.After(c.NotAfter),
		"serial":              serial,
		"version":             int64(c.Version),
		"signature_algorithm": c.SignatureAlgorithm.String(),
	}
}

// attrNames maps distinguished-name attribute OIDs to the lower-case short
// names OpenSSL (and so Crossbar) uses.
var attrNames = map[string]string{
	"2.5.4.3":                    "cn",
	"2.5.4.5":                    "serialnumber",
	"2.5.4.6":                    "c",
	"2.5.4.7":                    "l",
	"2.5.4.8":                    "st",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "o",
	"2.5.4.11":                   "ou",
	"2.5.4.17":                   "postalcode",
	"1.2.840.113549.1.9.1":       "emailaddress",
	"0.9.2342.19200300.100.1.25": "dc",
	"0.9.2342.19200300.100.1.1":  "uid",
}

func nameDetails(n pkix.Name) wamp.Dict {
	d := wamp.Dict{}
	for _, atv := range n.Names {
		oid := atv.Type.String()
		key, ok := attrNames[oid]
		if !ok {
			key = oid
		}
		s, ok := atv.Value.(string)
		if !ok {
			continue
		}
		if prev, dup := d[key].(string); dup {
			s = prev + ", " + s
		}
		d[key] = s
	}
	return d
}
