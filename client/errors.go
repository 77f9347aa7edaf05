package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Sentinel errors. Test for them with errors.Is.
var (
	// ErrSessionClosed is returned by requests on a session that has ended,
	// and wrapped by the error every pending request fails with when the
	// session ends (the wrapping error also carries the cause).
	ErrSessionClosed = errors.New("client: session closed")
	// ErrUnsupported is wrapped by *FeatureError: the router did not
	// announce a feature an option needs.
	ErrUnsupported = errors.New("client: feature not supported by router")
	// ErrInvalidOption is wrapped by errors about options that do not apply
	// to a request or have an invalid value.
	ErrInvalidOption = errors.New("client: invalid option")
)

// Error is a WAMP application error: the ERROR message a router or callee
// sends for a failed request, and what a handler returns to make the
// caller receive a specific error URI and payload.
//
// A handler may return any error: a *Error (or an error wrapping one) is
// sent as is, anything else becomes wamp.error.runtime_error with the
// error's text as the single argument.
type Error struct {
	URI     wamp.URI
	Args    wamp.List
	Kwargs  wamp.Dict
	Details wamp.Dict
}

// NewError returns a *Error with uri and positional arguments args.
func NewError(uri wamp.URI, args ...any) *Error {
	return &Error{URI: uri, Args: args}
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.URI))
	if len(e.Args) > 0 {
		b.WriteString(": ")
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprint(&b, a)
		}
	}
	if len(e.Kwargs) > 0 {
		fmt.Fprintf(&b, " %v", e.Kwargs)
	}
	return b.String()
}

// Is makes errors.Is(err, &Error{URI: u}) match any *Error with URI u.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.URI == e.URI && t.Args == nil && t.Kwargs == nil
}

// AbortError is returned by Dial when the router refuses the session with
// ABORT (for example wamp.error.no_such_realm or
// wamp.error.authentication_failed), and is the cause of a session's end
// when the router aborts an established session.
type AbortError struct {
	Reason  wamp.URI
	Message string // Details.message, if any
	Details wamp.Dict
	Args    wamp.List
	Kwargs  wamp.Dict
}

func (e *AbortError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("client: session aborted: %s: %s", e.Reason, e.Message)
	}
	return fmt.Sprintf("client: session aborted: %s", e.Reason)
}

// GoodbyeError is the cause of a session's end when the router closed it
// with GOODBYE (for example wamp.close.system_shutdown or wamp.close.killed).
type GoodbyeError struct {
	Reason  wamp.URI
	Message string
	Details wamp.Dict
}

func (e *GoodbyeError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("client: router closed the session: %s: %s", e.Reason, e.Message)
	}
	return fmt.Sprintf("client: router closed the session: %s", e.Reason)
}

// FeatureError reports an option that needs a feature the router did not
// announce in WELCOME. Nothing was sent. It wraps ErrUnsupported.
type FeatureError struct {
	Role    string // "dealer" or "broker"
	Feature string // e.g. "call_canceling"
}

func (e *FeatureError) Error() string {
	return "client: router does not support " + e.Feature
}

func (e *FeatureError) Unwrap() error { return ErrUnsupported }

// closedError is what pending requests fail with when the session ends.
type closedError struct{ cause error }

func (e *closedError) Error() string {
	if e.cause == nil {
		return ErrSessionClosed.Error()
	}
	return ErrSessionClosed.Error() + ": " + e.cause.Error()
}

func (e *closedError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrSessionClosed}
	}
	return []error{ErrSessionClosed, e.cause}
}

func errClosed(cause error) error {
	if cause == nil || errors.Is(cause, ErrSessionClosed) {
		if cause == nil {
			return ErrSessionClosed
		}
		return cause
	}
	return &closedError{cause: cause}
}

// errorFromMessage converts a received ERROR message.
func errorFromMessage(m *wamp.Error) error {
	args, kwargs, err := m.Values()
	if err != nil {
		return fmt.Errorf("client: decoding error payload of %s: %w", m.Error, err)
	}
	return &Error{URI: m.Error, Args: args, Kwargs: kwargs, Details: m.Details}
}

// handlerError converts the error a handler returned into what the callee
// sends back.
func handlerError(err error) *Error {
	var we *Error
	if errors.As(err, &we) {
		return we
	}
	var ae *ArgumentError
	if errors.As(err, &ae) {
		return &Error{URI: wamp.ErrInvalidArgument, Args: wamp.List{ae.Error()}}
	}
	return &Error{URI: wamp.ErrRuntimeError, Args: wamp.List{err.Error()}}
}
