// Package release_test checks make release's output with the tools that
// consume it: two releases of one commit from two directory copies are the
// same bytes; the binary says its version and commit and runs with no libc;
// the .deb installs with dpkg (then msguard, man and bash completion work)
// and the .rpm's metadata and files are what rpm reads. The release is
// built once, for amd64 only (make release builds every ARCH the same way);
// arm64 and 386 are only compiled.
package release_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/internal/buildinfo"
)

const testVersion = "9.8.7"

// run runs a command and returns its combined output; a non-zero exit
// fails the test.
func run(t *testing.T, env []string, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// need fails the test when a program is missing, naming its Debian package
// (make deps installs them).
func need(t *testing.T, prog, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(prog); err != nil {
		t.Fatalf("%s not found: install the Debian package %q (make deps)", prog, pkg)
	}
}

// release is one run of release.sh on a fresh clone of the repository's
// HEAD.
type release struct {
	src, out string
}

func (r release) file(name string) string { return filepath.Join(r.out, name) }

// makeRelease clones HEAD into a new directory and releases it for amd64.
func makeRelease(t *testing.T, top, script, dir string) release {
	t.Helper()
	src := filepath.Join(dir, "src")
	run(t, nil, "", "git", "clone", "-q", "--no-hardlinks", top, src)
	out := filepath.Join(dir, "release")
	run(t, []string{"SRC=" + src, "TOOLS=" + filepath.Join(os.TempDir(), "msguard-release-tools")}, "", script, out, testVersion, "amd64")
	return release{src: src, out: out}
}

func TestRelease(t *testing.T) {
	for _, p := range [][2]string{{"git", "git"}, {"dpkg", "dpkg"}, {"rpm", "rpm"}, {"man", "man-db"}, {"chroot", "coreutils"}, {"bash", "bash"}} {
		need(t, p[0], p[1])
	}
	if _, err := os.Stat("/usr/share/bash-completion/bash_completion"); err != nil {
		t.Fatalf("bash-completion is missing: install the Debian package \"bash-completion\" (make deps)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("TestRelease installs the .deb and uses chroot: run it as root (make test does)")
	}
	top := strings.TrimSpace(run(t, nil, ".", "git", "rev-parse", "--show-toplevel"))
	script, err := filepath.Abs("release.sh")
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	a := makeRelease(t, top, script, filepath.Join(base, "one"))
	b := makeRelease(t, top, script, filepath.Join(base, "two"))
	bin := a.file("msguard-" + testVersion + "-linux-amd64")

	t.Run("reproducible", func(t *testing.T) {
		sumsA, sumsB := readFile(t, a.file("SHA256SUMS")), readFile(t, b.file("SHA256SUMS"))
		if sumsA != sumsB {
			t.Errorf("two releases of one commit differ:\n%s\n%s", sumsA, sumsB)
		}
		for _, want := range []string{"msguard-" + testVersion + "-linux-amd64", "msguard_" + testVersion + "_amd64.deb",
			"msguard-" + testVersion + "-1.x86_64.rpm", "msguard-" + testVersion + ".cdx.json"} {
			if !strings.Contains(sumsA, "  "+want+"\n") {
				t.Errorf("SHA256SUMS lacks %s:\n%s", want, sumsA)
			}
		}
		run(t, nil, a.out, "sha256sum", "--strict", "-c", "SHA256SUMS")
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{a.src, top, base} {
			if bytes.Contains(data, []byte(p)) {
				t.Errorf("the binary holds the build path %s", p)
			}
		}
	})

	t.Run("version", func(t *testing.T) {
		commit := strings.TrimSpace(run(t, nil, a.src, "git", "rev-parse", "HEAD"))
		when, err := time.Parse(time.RFC3339, strings.TrimSpace(run(t, nil, a.src, "git", "log", "-1", "--format=%cI")))
		if err != nil {
			t.Fatal(err)
		}
		var info buildinfo.Info
		if err := json.Unmarshal([]byte(run(t, nil, "", bin, "version", "--json")), &info); err != nil {
			t.Fatal(err)
		}
		got, err := time.Parse(time.RFC3339, info.CommitTime)
		if err != nil || !got.Equal(when) {
			t.Errorf("commit_time %q; want %s", info.CommitTime, when)
		}
		if info.Version != testVersion || !info.Release || info.Commit != commit || info.Modified || info.OS != "linux" || info.Arch != "amd64" {
			t.Errorf("version --json = %+v; want version %s, release, commit %s, not modified, linux/amd64", info, testVersion, commit)
		}
		text := run(t, nil, "", bin, "version")
		want := "msguard " + testVersion + " (" + info.GoVersion + ", linux/amd64)\ncommit " + commit + " (" + info.CommitTime + ")\n"
		if text != want {
			t.Errorf("msguard version printed\n%s\nwant\n%s", text, want)
		}
		if flag := run(t, nil, "", bin, "--version"); flag != text {
			t.Errorf("msguard --version printed\n%s\nwant\n%s", flag, text)
		}
		// A report carries the same version (the snapshot's is the same buildinfo.Version).
		check := exec.Command(bin, "check", "--phase", "preflight", "--snapshot", filepath.Join(a.src, "deploy", "testdata", "ready51.snapshot.json"), "--format", "json", "-q")
		out, err := check.Output()
		var ee *exec.ExitError
		if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
			t.Fatalf("msguard check --snapshot: %v\n%s", err, out)
		}
		var rep struct {
			Tool struct{ Name, Version string } `json:"tool"`
		}
		if err := json.Unmarshal(out, &rep); err != nil || rep.Tool.Version != testVersion {
			t.Errorf("the report's tool.version is %q (%v); want %s", rep.Tool.Version, err, testVersion)
		}
	})

	// make release also builds linux/arm64 and linux/386; 386's 32-bit
	// types (syscall.Stat_t, Timespec) break builds that amd64 accepts.
	t.Run("cross", func(t *testing.T) {
		for _, arch := range []string{"386", "arm64"} {
			run(t, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + arch, "GOFLAGS="}, a.src, "go", "build", "-trimpath", "-o", os.DevNull, "./cmd/msguard")
		}
	})

	t.Run("static", func(t *testing.T) {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("the binary is dynamically linked (program header %v)", p.Type)
			}
		}
		// An empty root: the binary and nothing else, no libc, no /proc.
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "msguard"), readBytes(t, bin), 0o755); err != nil {
			t.Fatal(err)
		}
		out := run(t, nil, "", "chroot", root, "/msguard", "version")
		if !strings.HasPrefix(out, "msguard "+testVersion+" (") {
			t.Errorf("in an empty chroot, msguard version printed %q", out)
		}
		entries, _ := os.ReadDir(root)
		if len(entries) != 1 {
			t.Errorf("the chroot holds %d entries; want only the binary", len(entries))
		}
	})

	t.Run("rpm", func(t *testing.T) {
		rpm := a.file("msguard-" + testVersion + "-1.x86_64.rpm")
		info := run(t, nil, "", "rpm", "-qip", rpm)
		for _, want := range []string{"Name        : msguard\n", "Version     : " + testVersion + "\n", "Architecture: x86_64\n",
			"Summary     : Guard the iPlanet Messaging Server 5.x to 5.2 upgrade.\n", "Build Host  : msguard-release\n"} {
			if !strings.Contains(info, want) {
				t.Errorf("rpm -qip lacks %q:\n%s", want, info)
			}
		}
		files := strings.Split(strings.TrimSpace(run(t, nil, "", "rpm", "-qlp", rpm)), "\n")
		for _, want := range append(packagedFiles(), "/usr/share/zsh/site-functions/_msguard") {
			if !slices.Contains(files, want) {
				t.Errorf("rpm -qlp lacks %s:\n%s", want, strings.Join(files, "\n"))
			}
		}
	})

	t.Run("deb", func(t *testing.T) {
		deb := a.file("msguard_" + testVersion + "_amd64.deb")
		t.Cleanup(func() {
			if out, err := exec.Command("dpkg", "-r", "msguard").CombinedOutput(); err != nil {
				t.Errorf("dpkg -r msguard: %v\n%s", err, out)
			}
			if _, err := os.Stat("/usr/bin/msguard"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after dpkg -r, /usr/bin/msguard: %v", err)
			}
		})
		run(t, nil, "", "dpkg", "-i", deb)
		listed := strings.Split(strings.TrimSpace(run(t, nil, "", "dpkg", "-L", "msguard")), "\n")
		for _, want := range append(packagedFiles(), "/usr/share/zsh/vendor-completions/_msguard") {
			if !slices.Contains(listed, want) {
				t.Errorf("dpkg -L msguard lacks %s", want)
			}
			if _, err := os.Stat(want); err != nil {
				t.Errorf("installed: %v", err)
			}
		}
		if out := run(t, nil, "", "/usr/bin/msguard", "version"); !strings.HasPrefix(out, "msguard "+testVersion+" (") {
			t.Errorf("installed msguard version printed %q", out)
		}
		unit := readFile(t, "/usr/lib/systemd/system/msguard-audit.service")
		if !strings.Contains(unit, "\nExecStart=/usr/bin/msguard audit ") || strings.Contains(unit, "/usr/local/bin") {
			t.Errorf("the packaged unit does not run /usr/bin/msguard:\n%s", unit)
		}
		page := manPage(t, "msguard")
		for _, want := range []string{"msguard - Guard the iPlanet Messaging Server", "msguard-check(1)", "--quiet"} {
			if !strings.Contains(page, want) {
				t.Errorf("man msguard lacks %q:\n%s", want, page)
			}
		}
		if page := manPage(t, "msguard-remediate"); !strings.Contains(page, "where the backups and the journal go") {
			t.Errorf("man msguard-remediate lacks --backup-dir's text:\n%s", page)
		}
		// Bash completion as an interactive shell loads it: on demand, by command name.
		// compopt complains outside a real completion; its stderr is ignored.
		out := run(t, nil, "", "bash", "--norc", "--noprofile", "-c", `
. /usr/share/bash-completion/bash_completion
__load_completion msguard
complete -p msguard
COMP_WORDS=(msguard check --phase ""); COMP_CWORD=3; COMP_LINE="msguard check --phase "; COMP_POINT=${#COMP_LINE}
__start_msguard msguard "" --phase
printf 'reply:%s\n' "${COMPREPLY[@]}"
COMP_WORDS=(msguard check --format ""); COMP_CWORD=3; COMP_LINE="msguard check --format "; COMP_POINT=${#COMP_LINE}
__start_msguard msguard "" --format
printf 'format:%s\n' "${COMPREPLY[@]}"`)
		if !strings.Contains(out, "complete -o default -F __start_msguard msguard\n") {
			t.Errorf("bash completion is not registered for msguard:\n%s", out)
		}
		for _, want := range []string{"reply:preflight\n", "reply:quiesce\n", "reply:postflight\n", "format:sarif\n", "format:html\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("bash completion lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "reply:audit") {
			t.Errorf("bash completion offers check --phase audit:\n%s", out)
		}
	})
}

// manPage is man's text of a page, its whitespace (justification, line
// breaks) collapsed to single spaces.
func manPage(t *testing.T, name string) string {
	t.Helper()
	return strings.Join(strings.Fields(run(t, []string{"MANWIDTH=100"}, "", "man", "-P", "cat", name)), " ")
}

// packagedFiles are the files both packages install.
func packagedFiles() []string {
	return []string{
		"/usr/bin/msguard",
		"/usr/lib/systemd/system/msguard-audit.service",
		"/usr/lib/systemd/system/msguard-audit.timer",
		"/usr/share/man/man1/msguard.1.gz",
		"/usr/share/man/man1/msguard-check.1.gz",
		"/usr/share/man/man1/msguard-remediate.1.gz",
		"/usr/share/bash-completion/completions/msguard",
		"/usr/share/fish/vendor_completions.d/msguard.fish",
	}
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func readFile(t *testing.T, path string) string { return string(readBytes(t, path)) }
