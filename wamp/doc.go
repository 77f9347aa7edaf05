// Package wamp is the protocol vocabulary shared by the router, the client
// and the codecs: message types and their typed structs, IDs, URIs, error
// and close reasons, and safe accessors for Options/Details dicts.
//
// It does no I/O. Values in this package are plain data; a message must not
// be mutated once it has been handed to another goroutine (the router shares
// decoded messages and encoded frames between sessions).
package wamp
