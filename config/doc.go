// Package config reads Tollgate's node configuration: Crossbar's node config
// format (version 2) in YAML or JSON, restricted to the parts Tollgate
// implements.
//
// Loading is strict: unknown keys, wrong types and bad values are errors,
// and every error in a file is reported at once as an Errors list whose
// entries read "FILE:LINE:COL: path.to.key: what is wrong". Crossbar keys
// that Tollgate accepts but does not honour come back as Warnings.
//
// A loaded Config turns into router.Options (RouterOptions) and one Listener
// per transport (Listeners). The router itself never reads files; this
// package is the only place that does. The key-by-key reference is
// docs/config.md.
package config
