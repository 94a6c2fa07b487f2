// Package mountinfo reads the kernel's mount table, /proc/self/mountinfo
// (proc(5)), for the collectors, the simulator and remediate alike.
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Path is the kernel's mount table for this process.
const Path = "/proc/self/mountinfo"

// Entry is one line of the mount table.
type Entry struct {
	MountPoint string
	FSType     string
	Source     string
	Options    string // per-mount options, then the superblock's
}

// Parse reads mountinfo lines: ID parent maj:min root mount-point options
// [optional fields...] - fstype source super-options. A malformed line is
// an error naming its number.
func Parse(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1024*1024) // lines are short: grown only when needed
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || len(f) < sep+3 {
			return nil, fmt.Errorf("mountinfo line %d: malformed", n)
		}
		e := Entry{
			MountPoint: Unescape(f[4]),
			FSType:     f[sep+1],
			Source:     Unescape(f[sep+2]),
			Options:    f[5],
		}
		if len(f) > sep+3 && f[sep+3] != "" {
			e.Options += "," + f[sep+3]
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

// Read parses this process's mount table.
func Read() ([]Entry, error) {
	f, err := os.Open(Path)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	return Parse(f)
}

// IsMountPoint reports whether path is a mount point now.
func IsMountPoint(path string) (bool, error) {
	entries, err := Read()
	if err != nil {
		return false, err
	}
	clean := filepath.Clean(path)
	for _, e := range entries {
		if e.MountPoint == clean {
			return true, nil
		}
	}
	return false, nil
}

// Unescape undoes the kernel's octal escapes (\040 for a space, ...).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
