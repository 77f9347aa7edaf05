package router

import "runtime/debug"

// Version is this build's version: WELCOME.Details.agent is
// "tollgate-" + Version, and `tollgate version` prints it. A release build
// sets it with
//
//	-ldflags "-X github.com/tollgate-wamp/tollgate/router.Version=v1.2.3"
//
// (so it stays a var with no initializer); otherwise it comes from the
// build info (see versionFrom).
var Version string

func init() {
	if Version == "" {
		Version = versionFrom(debug.ReadBuildInfo())
	}
}

// versionFrom derives a version from build info: the main module's version
// (set by `go install module@version`), else the VCS revision's first 12
// hex digits with "-dirty" when the tree had local changes, else "dev".
func versionFrom(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
