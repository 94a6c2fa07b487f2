// Package buildinfo tells which msguard build is running.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// version is set at link time: -ldflags "-X github.com/msguard/msguard/internal/buildinfo.version=v1.2.3".
var version = ""

// Version returns the release version, or the VCS revision of a
// development build ("dev-<12 hex>[-dirty]"), or "dev".
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "dev"
	}
	return strings.Join([]string{"dev", rev}, "-") + dirty
}
