package collectors

import (
	"path"
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

// backupDiffs compares every regular file of the backup directory
// backupRel (relative to root) with the file of the same name under inst,
// except the keyed ones: h says which differ (Host.CompareBackup), and
// text files are compared here line by line, secrets redacted.
func backupDiffs(h Host, root, inst, backupRel string) []facts.BackupDiff {
	dir := path.Join(root, backupRel)
	var out []facts.BackupDiff
	for _, row := range h.CompareBackup(dir, inst) {
		if IsKeyedBackupFile(row.Rel) {
			continue
		}
		d := facts.BackupDiff{Backup: backupRel, Name: row.Rel}
		switch row.State {
		case "absent":
			d.State = facts.BackupFileAbsent
		case "binary":
			d.State = facts.BackupBinaryDiffers
		case "unreadable":
			d.State, d.Error = facts.BackupUnreadable, row.Err
		case "text":
			old, err := h.ReadFile(path.Join(dir, row.Rel))
			if err != nil {
				d.State, d.Error = facts.BackupUnreadable, err.Error()
				break
			}
			cur, err := h.ReadFile(path.Join(inst, row.Rel))
			if err != nil {
				d.State, d.Error = facts.BackupUnreadable, err.Error()
				break
			}
			diff, differs := LineDiff(RedactLines(SplitLines(old.Data)), RedactLines(SplitLines(cur.Data)))
			if !differs {
				continue
			}
			d.State, d.Missing, d.MissingTotal = diff.State, diff.Missing, diff.MissingTotal
		default:
			continue
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
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
