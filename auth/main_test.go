package auth_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/tollgate-wamp/tollgate/auth"
)

func TestMain(m *testing.M) {
	auth.CheapHashing()
	goleak.VerifyTestMain(m)
}
