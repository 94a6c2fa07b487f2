package buildinfo

import (
	"runtime/debug"
	"testing"
)

func settings(kv ...string) []debug.BuildSetting {
	var s []debug.BuildSetting
	for i := 0; i+1 < len(kv); i += 2 {
		s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
	}
	return s
}

func TestFromBuildInfo(t *testing.T) {
	const rev = "7d2f732abcdef0123456789abcdef0123456789a"
	vcs := settings("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-06T05:00:00Z", "vcs.modified", "false", "GOOS", "linux", "GOARCH", "arm64")
	dirty := settings("vcs.revision", rev, "vcs.time", "2026-12-06T05:00:00Z", "vcs.modified", "true")
	tests := []struct {
		name     string
		release  string
		bi       *debug.BuildInfo
		want     Info
		wantVers string
	}{
		{"no build info", "", nil, Info{}, "dev"},
		{"no build info, release", "1.2.3", nil, Info{Release: true}, "1.2.3"},
		{"devel without vcs", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, Info{}, "dev"},
		{"vcs clean", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			Info{Commit: rev, CommitTime: "2026-12-06T05:00:00Z", OS: "linux", Arch: "arm64"}, "dev-7d2f732abcde"},
		{"vcs dirty", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: dirty},
			Info{Commit: rev, CommitTime: "2026-12-06T05:00:00Z", Modified: true}, "dev-7d2f732abcde-dirty"},
		{"pseudo-version is dev", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206050000-7d2f732abcde"}, Settings: vcs},
			Info{Commit: rev, CommitTime: "2026-12-06T05:00:00Z", OS: "linux", Arch: "arm64"}, "dev-7d2f732abcde"},
		{"pre-release pseudo-version is dev", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0-rc.1.0.20261206050000-7d2f732abcde"}, Settings: vcs},
			Info{Commit: rev, CommitTime: "2026-12-06T05:00:00Z", OS: "linux", Arch: "arm64"}, "dev-7d2f732abcde"},
		{"tagged dirty tree is dev", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0+dirty"}, Settings: dirty},
			Info{Commit: rev, CommitTime: "2026-12-06T05:00:00Z", Modified: true}, "dev-7d2f732abcde-dirty"},
		{"tagged module version", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, Info{}, "v1.2.0"},
		{"release wins, vcs kept", "1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: dirty},
			Info{Release: true, Commit: rev, CommitTime: "2026-12-06T05:00:00Z", Modified: true}, "1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuildInfo(tt.release, tt.bi)
			if got.Version != tt.wantVers {
				t.Errorf("Version = %q; want %q", got.Version, tt.wantVers)
			}
			if got.Release != tt.want.Release || got.Commit != tt.want.Commit || got.CommitTime != tt.want.CommitTime || got.Modified != tt.want.Modified {
				t.Errorf("got %+v; want release=%v commit=%q time=%q modified=%v", got, tt.want.Release, tt.want.Commit, tt.want.CommitTime, tt.want.Modified)
			}
			if tt.want.OS != "" && (got.OS != tt.want.OS || got.Arch != tt.want.Arch) {
				t.Errorf("target %s/%s; want %s/%s", got.OS, got.Arch, tt.want.OS, tt.want.Arch)
			}
			if got.GoVersion == "" {
				t.Error("GoVersion empty")
			}
		})
	}
}
