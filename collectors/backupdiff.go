package collectors

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/parse"
)

// keyedBackupFiles are the files of a backup.<timestamp> compared by key
// (facts.ConfigFile.Values), not by line.
var keyedBackupFiles = map[string]bool{"config/msg.conf": true, "config/local.conf": true}

// IsKeyedBackupFile reports whether name, relative to a backup directory,
// is compared by its keys (msg.conf, local.conf) rather than by its lines.
func IsKeyedBackupFile(name string) bool { return keyedBackupFiles[name] }

// collectBackupDiffs compares every regular file of the backup directory
// backupRel (relative to root) with the file of the same name under inst,
// except the keyed ones. The collector script does the same on the host
// (collect.sh, section backupdiff).
func collectBackupDiffs(root, inst, backupRel string) []facts.BackupDiff {
	dir := filepath.Join(root, filepath.FromSlash(backupRel))
	var out []facts.BackupDiff
	// The trailing separator follows a backup directory that is a link.
	_ = filepath.WalkDir(dir+string(filepath.Separator), func(path string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return nil
		}
		name := filepath.ToSlash(rel)
		if IsKeyedBackupFile(name) {
			return nil
		}
		if d, ok := compareBackupFile(path, filepath.Join(inst, rel)); ok {
			d.Backup, d.Name = backupRel, name
			out = append(out, d)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// compareBackupFile compares a backup copy with the current file; ok is
// false when the current file carries everything over.
func compareBackupFile(backup, current string) (facts.BackupDiff, bool) {
	old, err := readLimited(backup)
	if err != nil {
		return facts.BackupDiff{State: facts.BackupUnreadable, Error: err.Error()}, true
	}
	// As the script's test -f: anything but a regular file is absent.
	if fi, err := os.Stat(current); err != nil || !fi.Mode().IsRegular() {
		return facts.BackupDiff{State: facts.BackupFileAbsent}, true
	}
	cur, err := readLimited(current)
	if err != nil {
		return facts.BackupDiff{State: facts.BackupUnreadable, Error: err.Error()}, true
	}
	switch {
	case bytes.Equal(old, cur):
		return facts.BackupDiff{}, false
	case bytes.IndexByte(old, 0) >= 0 || bytes.IndexByte(cur, 0) >= 0:
		return facts.BackupDiff{State: facts.BackupBinaryDiffers}, true
	}
	return LineDiff(RedactLines(SplitLines(old)), RedactLines(SplitLines(cur)))
}

// SplitLines splits a text file into lines, without their "\n" and one
// trailing "\r" each; a last line without "\n" counts.
func SplitLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// RedactLines redacts secrets inside each line the way the collector
// script's text mode does (parse.RedactInline): URL passwords and the
// values of secret key=value pairs.
func RedactLines(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if blank(l) {
			out[i] = l
			continue
		}
		out[i] = parse.RedactInline(l, facts.Redacted)
	}
	return out
}

func blank(l string) bool { return strings.Trim(l, " \t") == "" }

// LineDiff lists the non-blank lines of old (redacted) that cur (redacted)
// lacks, each once, in old's order; ok is false when there are none.
func LineDiff(old, cur []string) (facts.BackupDiff, bool) {
	have := make(map[string]bool, len(cur))
	for _, l := range cur {
		have[l] = true
	}
	d := facts.BackupDiff{State: facts.BackupLinesMissing}
	seen := map[string]bool{}
	for _, l := range old {
		if blank(l) || have[l] || seen[l] {
			continue
		}
		seen[l] = true
		d.MissingTotal++
		if len(d.Missing) < facts.MaxBackupDiffLines {
			d.Missing = append(d.Missing, l)
		}
	}
	return d, d.MissingTotal > 0
}
