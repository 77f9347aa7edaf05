package interop

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// pendingFeature lists features the router does not have (yet), or
// behaviour the lead has not decided on. Their cases still run and must
// fail; a pending case that passes fails the test, so the entry must go when
// the feature lands. A key is a feature ("meta_api") or "client:feature".
//
// Earlier entries, removed when they landed: "auth" (ticket, wampcra and
// cryptosign from the config's auth sections), "meta_api" (issue 8), and
// the stock JS encodings the router now reads: msgpackr's undefined (ext
// type 0) and CBOR undefined/null Options values as absent options
// ("msgpack_undefined", "cbor_undefined"), CBOR tag 64 as bytes
// ("cbor_tag64").
var pendingFeature = map[string]string{}

// featureOf maps a case, in a variant, to the feature it needs, for
// pendingFeature ("" when it needs nothing special).
func featureOf(v variant, name string) string {
	switch {
	case name == "meta":
		return "meta_api"
	case strings.HasPrefix(name, "auth_"):
		return "auth"
	case name == "stock_subscribe":
		return v.serializer + "_undefined"
	case name == "stock_uint8array" && v.serializer == "cbor":
		return "cbor_tag64"
	}
	return ""
}

func pending(v variant, name string) (key, reason string, ok bool) {
	f := featureOf(v, name)
	if f == "" {
		return "", "", false
	}
	for _, k := range []string{v.client + ":" + f, f} {
		if r, ok := pendingFeature[k]; ok {
			return k, r, true
		}
	}
	return "", "", false
}

// allCases is what every client runs on every transport and serializer.
var allCases = []string{
	"join", "rpc_args", "rpc_large", "pubsub", "pubsub_large", "progressive", "cancel",
	"call_timeout", "disclosure", "pattern", "shared", "blackwhite", "errors", "not_authorized",
	"meta", "auth_ticket", "auth_wampcra", "auth_wampcra_salted", "auth_cryptosign", "auth_abort",
	"abort_no_such_realm",
}

// casesFor adds to allCases the stock-behaviour cases that apply to v: what
// a JS client does unless the driver works around it.
func casesFor(v variant) []string {
	cases := slices.Clone(allCases)
	if v.client == "python" {
		// Only Autobahn|Python does channel binding (tls-unique).
		cases = append(cases, "auth_cryptosign_tls")
	}
	if v.client != "wampy" {
		// The spec's prefix examples: wampy checks URIs strictly itself
		// and refuses "emergency-low".
		cases = append(cases, "spec_pubsub", "spec_rpc")
	}
	if v.client != "python" && (v.serializer == "msgpack" || v.serializer == "cbor") {
		cases = append(cases, "stock_uint8array")
		if v.client == "wampy" {
			cases = append(cases, "stock_subscribe")
		}
	}
	return cases
}

// variant is one client on one transport with one serializer.
type variant struct{ client, transport, serializer string }

func (v variant) String() string { return v.client + "/" + v.transport + "-" + v.serializer }

// matrix: every serializer each client has, on each transport it has.
// Autobahn|JS's RawSocket transport speaks JSON only; wampy has no
// RawSocket; batched WebSocket subprotocols exist in Autobahn|Python only.
var matrix = []variant{
	{"python", "ws", "json"}, {"python", "ws", "json.batched"},
	{"python", "ws", "msgpack"}, {"python", "ws", "msgpack.batched"},
	{"python", "ws", "cbor"}, {"python", "ws", "cbor.batched"},
	{"python", "rs", "json"}, {"python", "rs", "msgpack"}, {"python", "rs", "cbor"},
	{"autobahn-js", "ws", "json"}, {"autobahn-js", "ws", "msgpack"}, {"autobahn-js", "ws", "cbor"},
	{"autobahn-js", "rs", "json"},
	{"wampy", "ws", "json"}, {"wampy", "ws", "msgpack"}, {"wampy", "ws", "cbor"},
}

// testDataJSON is the data every client sends (bytes as {"$bytes": HEX}).
// Sizes are near the 1 MiB max_message_size of configs/interop.yaml: the
// bytes are Base64 in JSON (770000 → 1026668 characters).
const testDataJSON = `{
  "args": [42, -7, 3.5, "héllo wörld ✓ 日本語 🚀", true, null, {"$bytes": "0001feff"},
           [1, "two", {"three": 3}], 9007199254740991],
  "kwargs": {"unicode": "Ωμέγα", "bin": {"$bytes": "deadbeef"},
             "nested": {"list": [1, 2, 3], "empty": {}}, "emptylist": [], "bool": false},
  "large_str": 1040000,
  "large_bytes": 770000,
  "error": {"uri": "com.interop.error.custom", "args": ["boom", 42],
            "kwargs": {"detail": "ünïcode", "bin": {"$bytes": "ff00"}}},
  "auth": {
    "ticket_authid": "ticket_user", "ticket": "s3cr3t-ticket",
    "cra_authid": "cra_user", "cra_secret": "cra-secret",
    "cra_salted_authid": "cra_salted", "cra_salted_secret": "cra-salted-password",
    "cryptosign_authid": "cs_user",
    "cryptosign_seed": "382f0d93708ea7c37bcc2634afde52ad4851eb6c5182991fd13544a6384d46a9"
  }
}`

func testData(t *testing.T) map[string]any {
	var d map[string]any
	if err := json.Unmarshal([]byte(testDataJSON), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// digest is what the clients report for a large value.
func digest(kind string, b []byte) map[string]any {
	sum := sha256.Sum256(b)
	return map[string]any{"type": kind, "len": len(b), "sha256": hex.EncodeToString(sum[:])}
}

func bigStr(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = "0123456789abcdef"[i%16]
	}
	return b
}

func bigBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func js(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(fmt.Sprintf("bad expectation %s: %v", s, err))
	}
	return v
}

// expectations returns what client should report for each case.
func expectations(client string, data map[string]any) map[string]any {
	e := data["error"].(map[string]any)
	large := map[string]any{
		"str":   digest("str", bigStr(int(data["large_str"].(float64)))),
		"bytes": digest("bytes", bigBytes(int(data["large_bytes"].(float64)))),
	}
	payload := map[string]any{"args": data["args"], "kwargs": data["kwargs"]}
	authFailed := "wamp.error.authentication_failed"
	want := map[string]any{
		"join": js(`{"session_id_ok": true, "realm": "realm1", "authrole": "anonymous",
			"authmethod": "anonymous", "router_roles": ["broker", "dealer"]}`),
		"rpc_args":     payload,
		"pubsub":       payload,
		"rpc_large":    large,
		"pubsub_large": large,
		"progressive":  js(`{"progress": [1, 2, 3], "final": "done", "callee_saw_receive_progress": true}`),
		// Autobahn|Python cancels its future locally; the router interrupts
		// the Python callee (it announces call_canceling).
		"cancel":       js(`{"caller": "cancelled", "callee_interrupted": true, "caller_session_alive": true}`),
		"call_timeout": js(`{"error": "wamp.error.timeout", "callee_interrupted": true}`),
		"disclosure": js(`{"call_caller_is_caller": true, "call_caller_authrole": "anonymous", "call_hidden": null,
			"event_publisher_is_publisher": true, "event_publisher_authrole": "anonymous", "event_hidden": null}`),
		"pattern": js(`{"prefix_call": ["prefix", "com.interop.pfx.a.b"], "wildcard_call": ["wildcard", "com.interop.x.wild"],
			"prefix_event": "com.interop.evpfx.one", "wildcard_event": "com.interop.two.evwild"}`),
		"shared": js(`{"roundrobin": ["c1", "c1", "c2", "c2"], "first": ["c1", "c1", "c1", "c1"], "last": ["c2", "c2", "c2", "c2"]}`),
		"blackwhite": js(`{"s1": ["eligible_s1", "exclude_authid_s2", "eligible_authrole_anonymous", "end"],
			"s2": ["exclude_s1", "eligible_authid_s2", "eligible_authrole_anonymous", "end"]}`),
		"errors": map[string]any{
			"app":                      map[string]any{"error": e["uri"], "args": e["args"], "kwargs": e["kwargs"]},
			"no_such_procedure":        "wamp.error.no_such_procedure",
			"procedure_already_exists": "wamp.error.procedure_already_exists",
		},
		"not_authorized": js(`{"publish": "wamp.error.not_authorized", "register": "wamp.error.not_authorized"}`),
		"meta": js(`{"count_at_least_2": true, "get_session": true, "get_authrole": "anonymous",
			"on_join_seen": true, "lookup_matches": true}`),
		"auth_ticket":         js(`{"authid": "ticket_user", "authrole": "user", "authmethod": "ticket"}`),
		"auth_wampcra":        js(`{"authid": "cra_user", "authrole": "user", "authmethod": "wampcra"}`),
		"auth_wampcra_salted": js(`{"authid": "cra_salted", "authrole": "user", "authmethod": "wampcra"}`),
		"auth_cryptosign":     js(`{"authid": "cs_user", "authrole": "user", "authmethod": "cryptosign"}`),
		"auth_abort": map[string]any{
			"bad_ticket": authFailed, "bad_cra_secret": authFailed, "unknown_authid": authFailed,
			"unknown_cryptosign_key": authFailed, "anonymous_not_offered": "wamp.error.no_auth_method",
		},
		"abort_no_such_realm": js(`{"reason": "wamp.error.no_such_realm"}`),
		"auth_cryptosign_tls": js(`{"authid": "cs_user", "authrole": "user", "authmethod": "cryptosign",
			"challenge_channel_binding": "tls-unique", "unbound_signature": "wamp.error.authentication_failed",
			"tls13": "wamp.error.authentication_failed"}`),
		// The spec's examples: byte-string prefixes, not components.
		"spec_pubsub": js(`{"topics": ["com.myapp.topic.emergency.11", "com.myapp.topic.emergency-low",
			"com.myapp.topic.emergency.category.severe", "com.myapp.topic.emergency"]}`),
		"spec_rpc": js(`{"calls": ["com.myapp.myobject1.myprocedure1", "com.myapp.myobject1-mysubobject1",
			"com.myapp.myobject1.mysubobject1.myprocedure1", "com.myapp.myobject1"],
			"errors": ["wamp.error.no_such_procedure", "wamp.error.no_such_procedure"]}`),
		"stock_subscribe":  js(`{"event": "x"}`),
		"stock_uint8array": js(`{"args": [{"$bytes": "010203"}]}`),
	}
	switch client {
	case "autobahn-js", "wampy":
		// Neither JS callee announces call_canceling, so the router cancels
		// in skip mode and never interrupts them; the caller gets the
		// router's ERROR.
		want["cancel"] = js(`{"caller": "wamp.error.canceled", "caller_session_alive": true}`)
		want["call_timeout"] = js(`{"error": "wamp.error.timeout"}`)
	}
	if client == "wampy" {
		// wampy's callee does not announce progressive_call_results, so the
		// router does not offer progress to it (the caller gets the final
		// result only).
		want["progressive"] = js(`{"progress": [], "final": "done", "callee_saw_receive_progress": false}`)
	}
	return want
}

// TestClients runs every case with every client, transport and serializer,
// each against its own router.
func TestClients(t *testing.T) {
	data := testData(t)
	for _, v := range matrix {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			r := startRouter(t)
			cases := casesFor(v)
			s := spec{Serializer: v.serializer, Realm: "realm1", Cases: cases, Data: data}
			if v.transport == "ws" {
				s.URL, s.AuthURL, s.TLSURL = r.wsURL("ws_anon"), r.wsURL("ws_auth"), r.wssURL("ws_tls")
			} else {
				s.URL, s.AuthURL, s.TLSURL = r.tcpURL("rs_anon"), r.tcpURL("rs_auth"), r.tlsURL("rs_tls")
			}
			ca, err := filepath.Abs(filepath.Join("configs", "tls", "cert.pem"))
			if err != nil {
				t.Fatal(err)
			}
			s.CAFile = ca
			lines, stderr := runClient(t, v.client, s)
			want := expectations(v.client, data)
			for _, name := range cases {
				t.Run(name, func(t *testing.T) {
					got, printed := lines[name]
					checkCase(t, v, name, got, printed, want[name], stderr)
				})
			}
		})
	}
}

// TestMixedSessions has an Autobahn|Python callee (RawSocket, MessagePack)
// serve callers of every other kind over other serializers: Autobahn|JS,
// wampy, our Go client and Autobahn|Python itself.
func TestMixedSessions(t *testing.T) {
	t.Parallel()
	data := testData(t)
	r := startRouter(t)
	serveCallee(t, spec{URL: r.tcpURL("rs_anon"), Serializer: "msgpack", Realm: "realm1", Serve: true, Data: data})

	e := data["error"].(map[string]any)
	// The Python type names the callee saw, per argument of data.args.
	pyTypes := []any{"int", "int", "float", "str", "bool", "NoneType", "bytes", "list", "int"}
	want := map[string]any{
		"mixed_echo":        map[string]any{"args": data["args"], "kwargs": data["kwargs"]},
		"mixed_types":       pyTypes,
		"mixed_progressive": js(`{"progress": [1, 2, 3], "final": "done"}`),
		"mixed_error":       map[string]any{"error": e["uri"], "args": e["args"], "kwargs": e["kwargs"]},
	}
	cases := slices.Sorted(maps.Keys(want))

	for _, v := range []variant{
		{"autobahn-js", "ws", "msgpack"}, {"autobahn-js", "ws", "json"},
		{"wampy", "ws", "cbor"}, {"wampy", "ws", "json"},
		{"python", "ws", "cbor"}, {"python", "rs", "json"},
	} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			s := spec{URL: r.wsURL("ws_anon"), Serializer: v.serializer, Realm: "realm1", Cases: cases, Data: data}
			if v.transport == "rs" {
				s.URL = r.tcpURL("rs_anon")
			}
			lines, stderr := runClient(t, v.client, s)
			want := want
			if v.client == "wampy" && v.serializer == "cbor" {
				// cbor-x (wampy's CBOR) encodes integers beyond 32 bits as
				// float64: Python sees 9007199254740991.0.
				want = maps.Clone(want)
				types := slices.Clone(pyTypes)
				types[8] = "float"
				want["mixed_types"] = types
			}
			for _, name := range cases {
				t.Run(name, func(t *testing.T) {
					got, printed := lines[name]
					checkCase(t, v, name, got, printed, want[name], stderr)
				})
			}
		})
	}

	for _, c := range []struct{ url, serializer string }{
		{r.wsURL("ws_anon"), "cbor"}, {r.tcpURL("rs_anon"), "json"}, {r.wsURL("ws_anon"), "msgpack"},
	} {
		name := "go/" + strings.SplitN(c.url, ":", 2)[0] + "-" + c.serializer
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			goCaller(t, c.url, c.serializer, data, want)
		})
	}
}

// serveCallee starts python/client.py in serve mode and waits until its
// procedures are registered; cleanup closes its stdin and waits for it.
func serveCallee(t *testing.T, s spec) {
	t.Helper()
	argv, err := clientArgv("python", s)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	stdoutDone := make(chan struct{})
	go func() {
		defer close(stdoutDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"ready"`) {
				select {
				case ready <- sc.Text():
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	waited := make(chan error, 1)
	go func() {
		<-stdoutDone // Wait must not run before the pipe is drained
		waited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case err := <-waited:
			if err != nil {
				t.Errorf("python callee exited with %v; stderr:\n%s", err, tail(stderr.String(), 3000))
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("python callee did not exit within 15s of closing its stdin")
			<-waited
		}
	})
	select {
	case line := <-ready:
		t.Logf("python callee: %s", line)
	case <-stdoutDone:
		select {
		case line := <-ready:
			t.Logf("python callee: %s", line)
			return
		default:
		}
		t.Fatalf("python callee ended before registering; stderr:\n%s", tail(stderr.String(), 3000))
	case <-time.After(30 * time.Second):
		t.Fatalf("python callee not ready within 30s; stderr:\n%s", tail(stderr.String(), 3000))
	}
}

// goCaller calls the Python callee's procedures with our Go client and checks
// what comes back, including the Go types.
func goCaller(t *testing.T, url, serializer string, data map[string]any, want map[string]any) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, url, client.Config{Realm: "realm1", Serializer: serializer})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())

	args := fromSpec(data["args"]).(wamp.List)
	kwargs := fromSpec(data["kwargs"]).(wamp.Dict)

	t.Run("mixed_echo", func(t *testing.T) {
		res, err := s.Call(ctx, "com.interop.mixed.echo", args, kwargs)
		if err != nil {
			t.Fatal(err)
		}
		if b, ok := res.Arg(6).([]byte); !ok || hex.EncodeToString(b) != "0001feff" {
			t.Errorf("args[6] = %#v, want []byte{0, 1, 0xfe, 0xff}", res.Arg(6))
		}
		if s, ok := res.Arg(3).(string); !ok || s != args[3] {
			t.Errorf("args[3] = %#v, want %q", res.Arg(3), args[3])
		}
		if n, ok := wamp.AsInt(res.Arg(8)); !ok || n != 9007199254740991 {
			t.Errorf("args[8] = %#v, want 9007199254740991", res.Arg(8))
		}
		got, _ := json.Marshal(map[string]any{"args": toSpec(res.Args), "kwargs": toSpec(res.Kwargs)})
		if diff := compareJSON(got, want["mixed_echo"]); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("mixed_types", func(t *testing.T) {
		res, err := s.Call(ctx, "com.interop.mixed.types", args, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(toSpec(res.Arg(0)))
		if diff := compareJSON(got, want["mixed_types"]); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("mixed_progressive", func(t *testing.T) {
		var progress []any
		res, err := s.Call(ctx, "com.interop.mixed.progressive", wamp.List{3}, nil,
			client.ReceiveProgress(func(r *client.Result) { progress = append(progress, toSpec(r.Arg(0))) }))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(map[string]any{"progress": progress, "final": res.Arg(0)})
		if diff := compareJSON(got, want["mixed_progressive"]); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("mixed_error", func(t *testing.T) {
		_, err := s.Call(ctx, "com.interop.mixed.fail", nil, nil)
		var ce *client.Error
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want a *client.Error", err)
		}
		got, _ := json.Marshal(map[string]any{"error": ce.URI, "args": toSpec(ce.Args), "kwargs": toSpec(ce.Kwargs)})
		if diff := compareJSON(got, want["mixed_error"]); diff != "" {
			t.Error(diff)
		}
	})
}

// fromSpec turns spec JSON into client values ({"$bytes": HEX} → []byte).
func fromSpec(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if h, ok := v["$bytes"].(string); ok && len(v) == 1 {
			b, err := hex.DecodeString(h)
			if err != nil {
				panic(err)
			}
			return b
		}
		d := wamp.Dict{}
		for k, x := range v {
			d[k] = fromSpec(x)
		}
		return d
	case []any:
		l := make(wamp.List, len(v))
		for i, x := range v {
			l[i] = fromSpec(x)
		}
		return l
	case float64:
		if v == float64(int64(v)) {
			return int64(v)
		}
		return v
	}
	return v
}

// toSpec turns client values into spec JSON values ([]byte → {"$bytes": HEX}).
func toSpec(v any) any {
	switch v := v.(type) {
	case []byte:
		return map[string]any{"$bytes": hex.EncodeToString(v)}
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = toSpec(x)
		}
		return l
	case map[string]any:
		d := map[string]any{}
		for k, x := range v {
			d[k] = toSpec(x)
		}
		return d
	}
	return v
}
