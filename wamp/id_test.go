package wamp_test

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestIDValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   wamp.ID
		want bool
	}{{0, false}, {1, true}, {wamp.MaxID, true}, {wamp.MaxID + 1, false}, {^wamp.ID(0), false}}
	for _, tt := range tests {
		if got := tt.id.Valid(); got != tt.want {
			t.Errorf("ID(%d).Valid() = %v, want %v", tt.id, got, tt.want)
		}
	}
	if wamp.MaxID != 9007199254740992 {
		t.Fatalf("MaxID = %d", wamp.MaxID)
	}
}

func TestGlobalIDRange(t *testing.T) {
	t.Parallel()
	for range 10000 {
		if id := wamp.GlobalID(); !id.Valid() {
			t.Fatalf("GlobalID() = %d, out of range", id)
		}
	}
}

func TestMessageTypes(t *testing.T) {
	t.Parallel()
	if wamp.TypeCall.String() != "CALL" || wamp.MessageType(7).String() != "MessageType(7)" {
		t.Fatalf("String: %q %q", wamp.TypeCall, wamp.MessageType(7))
	}
	if wamp.MessageType(7).Known() || !wamp.TypeYield.Known() || wamp.MessageType(337).Known() {
		t.Fatal("Known wrong")
	}
	requests := map[wamp.MessageType]bool{wamp.TypeSubscribe: true, wamp.TypeUnsubscribe: true, wamp.TypePublish: true,
		wamp.TypeRegister: true, wamp.TypeUnregister: true, wamp.TypeCall: true, wamp.TypeInvocation: true}
	for mt := range wamp.MessageType(256) {
		if got := mt.IsRequest(); got != requests[mt] {
			t.Errorf("%v.IsRequest() = %v", mt, got)
		}
	}
}

func TestProtocolError(t *testing.T) {
	t.Parallel()
	err := wamp.Protocolf("bad %d", 7)
	if err.Error() != "wamp: protocol violation: bad 7" {
		t.Fatalf("Error() = %q", err)
	}
	wrapped := fmtWrap(err)
	if !wamp.IsProtocolError(wrapped) || wamp.IsProtocolError(nil) || wamp.IsProtocolError(errPlain) {
		t.Fatal("IsProtocolError wrong")
	}
}
