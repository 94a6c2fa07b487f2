// Package rehearse runs the upgrade on a copy-on-write twin of the host
// (msguard rehearse): the real installers and daemons, with production
// untouched. The twin is a child process in mount, network and PID
// namespaces of its own: every directory the plan writes is overlaid at
// its own path (overlayfs: the host's files below, a scratch directory
// above that takes every write), the network namespace has only its own
// loopback (the twin's servers bind production's ports without meeting
// them, and nothing in it reaches another host), and the PID namespace
// (with its own /proc) shows and stops only the twin's processes. When
// the child ends, the kernel takes the namespaces and the overlays away.
package rehearse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Spec is what the twin's child needs: the directories to overlay, the
// scratch directory that takes the writes, and the commands that start,
// in the twin, the servers production runs.
type Spec struct {
	// Overlays are absolute directories, overlaid at their own paths in
	// this order (a directory inside an earlier one comes after it).
	Overlays []string `json:"overlays"`
	// Scratch holds the upper and work directories (not below an overlay).
	Scratch string `json:"scratch"`
	// Start are the commands that start production's servers, in order.
	Start [][]string `json:"start"`
	// Detached are the install's other processes (a cluster monitor that
	// runs from below the root), started by their command lines in
	// sessions of their own, before Start, and not waited for.
	Detached [][]string `json:"detached,omitempty"`
	// Directory, when production's directory is on another host, is the
	// scratch directory server the twin serves in its place.
	Directory *Directory `json:"directory,omitempty"`
}

// WriteSpec stores s in dir for the child.
func WriteSpec(dir string, s Spec) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "twin.json")
	return p, os.WriteFile(p, b, 0o600)
}

// ReadSpec reads the child's spec.
func ReadSpec(path string) (Spec, error) {
	var s Spec
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("twin spec: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("twin spec %s: %w", path, err)
	}
	return s, nil
}

// Child returns the command for the twin: self (this executable) run with
// args in new mount, network and PID namespaces, killed when ctx ends or
// its parent dies. It is the first process of its PID namespace: when it
// dies the kernel kills every process of the twin, and its mount
// namespace, overlays included, goes with them (so a killed rehearsal
// leaves no namespace process and no mount behind).
func Child(ctx context.Context, self string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, self, args...)
	c.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWPID,
		Pdeathsig:  syscall.SIGKILL,
	}
	return c
}

// RefusedError says the kernel would not give the twin its namespaces.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the kernel refused the twin's namespaces (mount, network, PID: %v): rehearse needs root on Linux with user-visible namespaces (not an unprivileged container); nothing was touched", e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Refused reports whether err (from starting Child) is the kernel
// refusing the namespaces.
func Refused(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EUSERS)
}

// Enter turns the child into the twin: mounts private to it, each overlay
// at its path, a /proc of its own PID namespace, its loopback up. It must
// run first thing in the child started by Child, as PID 1 of its
// namespace.
func (s Spec) Enter() error {
	if os.Getpid() != 1 {
		return fmt.Errorf("rehearse twin: not the first process of a PID namespace (pid %d)", os.Getpid())
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("rehearse twin: make mounts private: %w", err)
	}
	// A directory that is a mount point of its own (the store) is hidden
	// once its parent is overlaid: bind it aside first and overlay it
	// from there.
	lowers := make([]string, len(s.Overlays))
	for i, dir := range s.Overlays {
		lowers[i] = dir
		if i == 0 {
			continue
		}
		aside := filepath.Join(s.Scratch, "lower", strconv.Itoa(i))
		if err := os.MkdirAll(aside, 0o700); err != nil {
			return err
		}
		if err := unix.Mount(dir, aside, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("rehearse twin: bind %s aside: %w", dir, err)
		}
		// Read-only: production's files are only ever read through it.
		if err := unix.Mount("", aside, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("rehearse twin: %s read-only: %w", aside, err)
		}
		// Production's own mount there leaves the twin's mount table (only
		// the twin's: mounts are private): the twin's store is its overlay.
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("rehearse twin: detach %s: %w", dir, err)
		}
		lowers[i] = aside
	}
	for i, dir := range s.Overlays {
		upper := filepath.Join(s.Scratch, "upper", strconv.Itoa(i))
		work := filepath.Join(s.Scratch, "work", strconv.Itoa(i))
		for _, d := range []string{upper, work} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return err
			}
		}
		// The upper directory takes the owner and mode of the lower one.
		if st, err := os.Stat(dir); err == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				_ = os.Chown(upper, int(sys.Uid), int(sys.Gid))
			}
			_ = os.Chmod(upper, st.Mode().Perm())
		}
		if err := mountOverlay(dir, lowers[i], upper, work); err != nil {
			return fmt.Errorf("rehearse twin: overlay %s: %w (the kernel needs overlayfs)", dir, err)
		}
		pausePoint("overlays", filepath.Dir(s.Scratch))
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("rehearse twin: mount /proc: %w", err)
	}
	return loopbackUp()
}

// mountOverlay mounts at dir an overlay of lower under upper through the
// mount API of fsopen(2) and fsconfig(2): each option goes on its own, so
// a path holding a comma (which mount(2)'s option string would split) is
// taken whole; a colon in lower, which separates lower layers, is escaped.
// redirect_dir: the plan renames directories (the store set aside), which
// overlayfs otherwise refuses with EXDEV for a lower directory.
func mountOverlay(dir, lower, upper, work string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fd)
	escape := strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace
	for _, kv := range [][2]string{{"lowerdir", escape(lower)}, {"upperdir", upper}, {"workdir", work}, {"redirect_dir", "on"}} {
		if err := unix.FsconfigSetString(fd, kv[0], kv[1]); err != nil {
			return fmt.Errorf("%s=%s: %w", kv[0], kv[1], err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return err
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	return unix.MoveMount(mfd, "", unix.AT_FDCWD, dir, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

// loopbackUp brings up lo, the only interface of a new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("rehearse twin: loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("rehearse twin: loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("rehearse twin: loopback up: %w", err)
	}
	return nil
}
