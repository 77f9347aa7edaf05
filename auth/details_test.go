package auth_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestTransportDetails(t *testing.T) {
	t.Parallel()
	cert := selfSigned(t, "client-1")
	s12, c12 := tlsStates(t, tls.VersionTLS12, &cert)
	s13, c13 := tlsStates(t, tls.VersionTLS13, nil)
	unique := sha256.Sum256(c12.TLSUnique)
	exp13, err := c13.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		info transport.Info
		want wamp.Dict
	}{
		{"rawsocket-tcp", transport.Info{Kind: "rawsocket", Serializer: "msgpack", Network: "tcp", LocalAddr: "127.0.0.1:8080", RemoteAddr: "127.0.0.1:48638"},
			wamp.Dict{"type": "tcp", "channel_type": "tcp", "channel_framing": "rawsocket", "channel_serializer": "msgpack",
				"peer": "tcp4:127.0.0.1:48638", "own": "tcp4:127.0.0.1:8080", "is_server": true, "is_secure": false,
				"websocket_protocol": nil, "http_headers_received": nil, "channel_id": nil, "peer_cert": nil}},
		{"rawsocket-unix", transport.Info{Kind: "rawsocket", Serializer: "cbor", Network: "unix", LocalAddr: "/run/t.sock", RemoteAddr: "@"},
			wamp.Dict{"type": "unix", "channel_type": "unix", "channel_framing": "rawsocket", "channel_serializer": "cbor",
				"peer": "unix", "own": "unix", "is_server": true, "is_secure": false,
				"websocket_protocol": nil, "http_headers_received": nil, "channel_id": nil, "peer_cert": nil}},
		{"websocket-ipv6", transport.Info{Kind: "websocket", Serializer: "json", Protocol: "wamp.2.json.batched", Network: "tcp", LocalAddr: "[::1]:8080", RemoteAddr: "[::1]:5000",
			HTTPHeaders: http.Header{"User-Agent": {"ua"}, "X-Forwarded-For": {"10.0.0.1", "10.0.0.2"}, "Cookie": {"cbtid=x"}}},
			wamp.Dict{"type": "tcp", "channel_type": "tcp", "channel_framing": "websocket", "channel_serializer": "json",
				"peer": "tcp6:::1:5000", "own": "tcp6:::1:8080", "is_server": true, "is_secure": false,
				"websocket_protocol":    "wamp.2.json.batched",
				"http_headers_received": wamp.Dict{"user-agent": "ua", "x-forwarded-for": "10.0.0.1, 10.0.0.2", "cookie": "cbtid=x"},
				"channel_id":            nil, "peer_cert": nil}},
		{"tls13-no-cert", transport.Info{Kind: "websocket", Serializer: "json", Protocol: "wamp.2.json", Network: "tcp", LocalAddr: "127.0.0.1:443", RemoteAddr: "127.0.0.1:5000", TLS: &s13, HTTPHeaders: http.Header{}},
			wamp.Dict{"type": "tls", "channel_type": "tls", "channel_framing": "websocket", "channel_serializer": "json",
				"peer": "tcp4:127.0.0.1:5000", "own": "tcp4:127.0.0.1:443", "is_server": true, "is_secure": true,
				"websocket_protocol": "wamp.2.json", "http_headers_received": wamp.Dict{},
				"channel_id": wamp.Dict{"tls-exporter": hex.EncodeToString(exp13)}, "peer_cert": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := auth.TransportDetails(tt.info); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("details\n got %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("tls12-client-cert", func(t *testing.T) {
		t.Parallel()
		d := auth.TransportDetails(transport.Info{Kind: "rawsocket", Serializer: "json", Network: "tcp", LocalAddr: "127.0.0.1:1", RemoteAddr: "127.0.0.1:2", TLS: &s12})
		ids, _ := d["channel_id"].(wamp.Dict)
		if ids["tls-unique"] != hex.EncodeToString(unique[:]) {
			t.Fatalf("channel_id %v, want tls-unique %x", ids, unique)
		}
		pc, ok := d["peer_cert"].(wamp.Dict)
		if !ok {
			t.Fatalf("peer_cert %v", d["peer_cert"])
		}
		s1, s256 := sha1.Sum(cert.Certificate[0]), sha256.Sum256(cert.Certificate[0])
		colon := func(b []byte) string {
			return strings.ToUpper(strings.Join(splitPairs(hex.EncodeToString(b)), ":"))
		}
		// DER sorts the two O values of one RDN set.
		subject := wamp.Dict{"cn": "client-1", "o": "Second Org, Tollgate Test", "c": "DE"}
		for k, want := range map[string]any{
			"sha1": colon(s1[:]), "sha256": colon(s256[:]), "subject": subject, "issuer": subject,
			"serial": "4242", "expired": false, "version": int64(3), "signature_algorithm": "ECDSA-SHA256",
			"not_before": cert.Leaf.NotBefore.UTC().Format("2006-01-02T15:04:05Z07:00"),
			"not_after":  cert.Leaf.NotAfter.UTC().Format("2006-01-02T15:04:05Z07:00"),
		} {
			if !reflect.DeepEqual(pc[k], want) {
				t.Errorf("peer_cert[%s] = %#v, want %#v", k, pc[k], want)
			}
		}
	})
}
