package auth

import (
	"errors"
	"fmt"
)

// Method types (the "type" key of a method in a transport's auth section).
const (
	TypeStatic  = "static"
	TypeDynamic = "dynamic"
)

// MethodConfig describes one auth method of a transport independently of
// the config file format; the config package converts its parsed YAML to
// it and New builds the Authenticator. Only the part matching Method and
// Type is read.
type MethodConfig struct {
	// Method is the method name: anonymous, ticket, wampcra, cryptosign or
	// tls. Required.
	Method string
	// Type is "static" (credentials below) or "dynamic" (an authenticator
	// procedure). Required.
	Type string

	// Anonymous is read for static anonymous.
	Anonymous AnonymousConfig
	// Ticket is read for static ticket.
	Ticket TicketConfig
	// WAMPCRA is read for static wampcra.
	WAMPCRA WAMPCRAConfig
	// Cryptosign is read for static cryptosign.
	Cryptosign CryptosignConfig
	// TLS is read for static tls.
	TLS TLSConfig
	// Dynamic is read for every dynamic method. Its Caller may be left
	// nil: New fills in the one it is given.
	Dynamic DynamicConfig
}

// New builds the Authenticator m describes. Dynamic methods call through
// caller (unless m.Dynamic.Caller is set). Errors name the method and the
// field, e.g. `auth: ticket: principals["alice"].ticket: empty`.
func New(m MethodConfig, caller Caller) (Authenticator, error) {
	switch m.Type {
	case TypeDynamic:
		cfg := m.Dynamic
		if cfg.Caller == nil {
			cfg.Caller = caller
		}
		return check(NewDynamic(m.Method, cfg))
	case TypeStatic:
	case "":
		return nil, fmt.Errorf("auth: %s: type: empty (want static or dynamic)", m.Method)
	default:
		return nil, fmt.Errorf("auth: %s: type: %q is not static or dynamic", m.Method, m.Type)
	}
	switch m.Method {
	case MethodAnonymous:
		return NewAnonymous(m.Anonymous), nil
	case MethodTicket:
		return check(NewTicket(m.Ticket))
	case MethodWAMPCRA:
		return check(NewWAMPCRA(m.WAMPCRA))
	case MethodCryptosign:
		return check(NewCryptosign(m.Cryptosign))
	case MethodTLS:
		return check(NewTLS(m.TLS))
	case "":
		return nil, errors.New("auth: method: empty")
	}
	return nil, fmt.Errorf("auth: method: unknown %q (supported: anonymous, ticket, wampcra, cryptosign, tls)", m.Method)
}

// NewSet builds the authenticators of one transport, keyed by method. It
// reports every bad method at once, and a method given twice.
func NewSet(ms []MethodConfig, caller Caller) (map[string]Authenticator, error) {
	out := make(map[string]Authenticator, len(ms))
	var errs []error
	for _, m := range ms {
		if _, dup := out[m.Method]; dup {
			errs = append(errs, fmt.Errorf("auth: %s: configured twice", m.Method))
			continue
		}
		a, err := New(m, caller)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[m.Method] = a
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// check converts a constructor's result to the interface without turning
// a nil pointer into a non-nil Authenticator.
func check[A Authenticator](a A, err error) (Authenticator, error) {
	if err != nil {
		return nil, err
	}
	return a, nil
}
