// Package interop holds Tollgate's interoperability tests: real third-party
// WAMP clients (Autobahn|Python, Autobahn|JS, wampy.js) and our Go client
// driving a real tollgate binary.
//
// The tests live in interop_test.go and cases_test.go; the client programs
// in python/ and js/; the router config in configs/. docs/interop.md has
// the client × feature matrix. Run them with ./scripts/test, which installs
// the Python (Debian) and Node (npm ci) dependencies first.
package interop
