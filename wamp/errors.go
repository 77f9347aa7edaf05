package wamp

import (
	"errors"
	"fmt"
)

// Error and close reason URIs (wamp-spec.md §8).
const (
	ErrInvalidURI             URI = "wamp.error.invalid_uri"
	ErrNoSuchProcedure        URI = "wamp.error.no_such_procedure"
	ErrProcedureAlreadyExists URI = "wamp.error.procedure_already_exists"
	ErrNoSuchRegistration     URI = "wamp.error.no_such_registration"
	ErrNoSuchSubscription     URI = "wamp.error.no_such_subscription"
	ErrNoSuchSession          URI = "wamp.error.no_such_session"
	ErrInvalidArgument        URI = "wamp.error.invalid_argument"
	ErrCanceled               URI = "wamp.error.canceled"
	ErrTimeout                URI = "wamp.error.timeout"
	ErrPayloadSizeExceeded    URI = "wamp.error.payload_size_exceeded"
	ErrNotAuthorized          URI = "wamp.error.not_authorized"
	ErrAuthorizationFailed    URI = "wamp.error.authorization_failed"
	ErrNoSuchRealm            URI = "wamp.error.no_such_realm"
	ErrNoSuchRole             URI = "wamp.error.no_such_role"
	ErrNoSuchPrincipal        URI = "wamp.error.no_such_principal"
	ErrAuthenticationDenied   URI = "wamp.error.authentication_denied"
	ErrAuthenticationFailed   URI = "wamp.error.authentication_failed"
	ErrAuthenticationRequired URI = "wamp.error.authentication_required"
	ErrNoAuthMethod           URI = "wamp.error.no_auth_method"
	ErrProtocolViolation      URI = "wamp.error.protocol_violation"
	ErrOptionNotAllowed       URI = "wamp.error.option_not_allowed"
	ErrFeatureNotSupported    URI = "wamp.error.feature_not_supported"
	ErrRuntimeError           URI = "wamp.error.runtime_error"
	ErrNoAvailableCallee      URI = "wamp.error.no_available_callee"
	ErrNoEligibleCallee       URI = "wamp.error.no_eligible_callee"
	ErrNetworkFailure         URI = "wamp.error.network_failure"

	CloseNormal         URI = "wamp.close.normal"
	CloseRealm          URI = "wamp.close.close_realm"
	CloseSystemShutdown URI = "wamp.close.system_shutdown"
	CloseGoodbyeAndOut  URI = "wamp.close.goodbye_and_out"
	CloseKilled         URI = "wamp.close.killed"
	CloseLogout         URI = "wamp.close.logout"
)

// ProtocolError reports a message that breaks the protocol: malformed,
// out of state, or carrying a bad request id. Peers answer it with ABORT
// wamp.error.protocol_violation and its text as the message.
type ProtocolError struct {
	Msg string
}

func (e *ProtocolError) Error() string { return "wamp: protocol violation: " + e.Msg }

// Protocolf returns a *ProtocolError with a formatted message.
func Protocolf(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// IsProtocolError reports whether err is or wraps a *ProtocolError.
func IsProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// CallError is a WAMP error answer to a call made inside the router (by a
// dynamic authenticator or authorizer): the error URI and its payload.
type CallError struct {
	URI    URI
	Args   List
	Kwargs Dict
}

func (e *CallError) Error() string {
	if len(e.Args) > 0 {
		if s, ok := e.Args[0].(string); ok {
			return string(e.URI) + ": " + s
		}
	}
	return string(e.URI)
}
