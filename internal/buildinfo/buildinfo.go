// Package buildinfo tells which msguard build is running: the release
// version set at link time and what the Go toolchain embedded in the
// binary (VCS commit, its date, whether the tree was modified).
package buildinfo

import (
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at link time by make release:
// -ldflags "-X github.com/msguard/msguard/internal/buildinfo.version=1.2.3".
var version = ""

// Info is what `msguard version --json` prints (docs/contract.md).
type Info struct {
	// Version is the release version, or "dev-<12 hex>[-dirty]" for a
	// development build from a VCS checkout, or "dev". The snapshot's and
	// every report's tool.version is this string.
	Version string `json:"version"`
	// Release is true when Version was set at build time.
	Release bool `json:"release"`
	// Commit is the full VCS revision the binary was built from ("" when
	// the build had no VCS information).
	Commit string `json:"commit"`
	// CommitTime is the commit's date, RFC 3339 in UTC ("" when unknown).
	CommitTime string `json:"commit_time"`
	// Modified is true when the working tree had uncommitted changes.
	Modified bool `json:"modified"`
	// GoVersion, OS and Arch name the toolchain and the target.
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

// Read returns the running binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(version, bi)
}

// Version returns Read().Version: the one version string msguard prints and
// records.
func Version() string {
	return Read().Version
}

// fromBuildInfo combines a release version (may be empty) with the
// toolchain's build information (may be nil).
func fromBuildInfo(release string, bi *debug.BuildInfo) Info {
	info := Info{Version: release, Release: release != "", GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi == nil {
		if info.Version == "" {
			info.Version = "dev"
		}
		return info
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.CommitTime = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		case "GOOS":
			info.OS = s.Value
		case "GOARCH":
			info.Arch = s.Value
		}
	}
	if info.Version != "" {
		return info
	}
	if v := bi.Main.Version; taggedVersion(v) {
		info.Version = v
		return info
	}
	info.Version = "dev"
	if info.Commit != "" {
		info.Version += "-" + ShortCommit(info.Commit)
		if info.Modified {
			info.Version += "-dirty"
		}
	}
	return info
}

// pseudoVersion matches the version Go gives an untagged commit
// (v0.0.0-20261206053200-7d2f732abcde).
var pseudoVersion = regexp.MustCompile(`[-.](\d+\.)?\d{14}-[0-9a-f]{12}$`)

// taggedVersion reports whether the main module's version, as the go
// command stamped it, is a tag of an unmodified tree (`go install
// module@v1.2.3`, or a build of a tagged commit) rather than "(devel)", a
// pseudo-version or a modified tree ("+dirty").
func taggedVersion(v string) bool {
	return v != "" && v != "(devel)" && !strings.HasSuffix(v, "+dirty") && !pseudoVersion.MatchString(v)
}

// ShortCommit is the first 12 characters of a revision.
func ShortCommit(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
