package treebackup

import (
	"os"
	"path/filepath"
	"time"
)

// ManifestFormat names the manifest's layout in its header line.
const ManifestFormat = "msguard.backup-manifest/v1"

// Manifest entry types.
const (
	EntryFile    = "file"
	EntryDir     = "dir"
	EntrySymlink = "symlink"
)

// manifestModeBits are the os.FileMode bits a manifest records: the
// permissions and setuid, setgid and sticky; the type is in Type.
const manifestModeBits = os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky

// ManifestEntry describes one backed-up file, directory or symlink.
//
// A hard link to a file met earlier in the same tree is a "file" entry
// whose HardLink names that earlier entry; it has no SHA256 of its own (its
// content is the earlier entry's) and it is a hard link in the backup too.
type ManifestEntry struct {
	Path     string    `json:"path"` // relative to the backed-up root, slash-separated; "." is the root
	Type     string    `json:"type"` // EntryFile, EntryDir or EntrySymlink
	Size     int64     `json:"size"`
	Mode     uint32    `json:"mode"` // os.FileMode permission, setuid, setgid and sticky bits
	UID      int       `json:"uid"`
	GID      int       `json:"gid"`
	MTime    time.Time `json:"mtime"`
	SHA256   string    `json:"sha256,omitempty"`   // files
	Target   string    `json:"target,omitempty"`   // symlinks
	HardLink string    `json:"hardlink,omitempty"` // files: Path of the entry this one is a hard link to
}

// FileMode returns the entry's mode as an os.FileMode, type bit included.
func (e *ManifestEntry) FileMode() os.FileMode {
	m := os.FileMode(e.Mode) & manifestModeBits
	switch e.Type {
	case EntryDir:
		m |= os.ModeDir
	case EntrySymlink:
		m |= os.ModeSymlink
	}
	return m
}

// ManifestHeader is the first line of a manifest. The counts are -1 in a
// manifest whose backup never finished.
type ManifestHeader struct {
	Format    string    `json:"manifest"`
	Name      string    `json:"name"`
	Root      string    `json:"root"` // the directory that was backed up
	Created   time.Time `json:"created"`
	Exclude   []string  `json:"exclude,omitempty"`
	Files     int64     `json:"files"` // hard links included
	Dirs      int64     `json:"dirs"`  // the root included
	Symlinks  int64     `json:"symlinks"`
	HardLinks int64     `json:"hardlinks"`
	Bytes     int64     `json:"bytes"` // file content, each hard-linked file once
}

// Complete reports whether the header was finalised by a finished backup.
func (h *ManifestHeader) Complete() bool { return h.Files >= 0 }

// manifestTrailer is the last line of a complete manifest: the number of
// entry lines and the SHA-256 of their bytes (newlines included), so a
// truncated or edited manifest is detected.
type manifestTrailer struct {
	Trailer string `json:"trailer"` // always "sha256"
	Entries int64  `json:"entries"`
	SHA256  string `json:"sha256"`
}

// trailerPrefix starts the trailer line and no entry line.
const trailerPrefix = `{"trailer":`

// ManifestPath is the manifest of backup name in dst.
func ManifestPath(dst, name string) string { return filepath.Join(dst, name+".manifest") }

// DataDir is where the files of backup name in dst are kept.
func DataDir(dst, name string) string { return filepath.Join(dst, name) }
