package treebackup

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"time"
)

// headerLine renders h; the counts are right-aligned in fixed-width fields
// (JSON allows the leading spaces) so the finished header can be written
// over the provisional one in place, without rewriting the whole manifest.
func (h *ManifestHeader) headerLine() ([]byte, error) {
	fixed := struct {
		Format  string    `json:"manifest"`
		Name    string    `json:"name"`
		Root    string    `json:"root"`
		Created time.Time `json:"created"`
		Exclude []string  `json:"exclude,omitempty"`
	}{h.Format, h.Name, h.Root, h.Created.UTC(), h.Exclude}
	b, err := json.Marshal(fixed)
	if err != nil {
		return nil, fmt.Errorf("encode manifest header: %w", err)
	}
	b = b[:len(b)-1]
	b = fmt.Appendf(b, `,"files":%20d,"dirs":%20d,"symlinks":%20d,"hardlinks":%20d,"bytes":%20d}`+"\n",
		h.Files, h.Dirs, h.Symlinks, h.HardLinks, h.Bytes)
	return b, nil
}

// manifestWriter streams a manifest to disk: a provisional header, one
// line per entry, and on finish the trailer and the final header.
type manifestWriter struct {
	f       *os.File
	bw      *bufio.Writer
	sum     hash.Hash
	hdr     ManifestHeader
	entries int64
	line    []byte // reused for each entry line
}

// createManifest creates path (0600, must not exist) and writes the
// provisional header of h.
func createManifest(path string, h ManifestHeader) (*manifestWriter, error) {
	h.Format = ManifestFormat
	h.Files, h.Dirs, h.Symlinks, h.HardLinks, h.Bytes = -1, -1, -1, -1, -1
	line, err := h.headerLine()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create manifest: %w", err)
	}
	w := &manifestWriter{f: f, bw: bufio.NewWriterSize(f, 256<<10), sum: sha256.New(), hdr: h}
	if _, err := w.bw.Write(line); err != nil {
		f.Close()
		return nil, fmt.Errorf("write manifest %s: %w", path, err)
	}
	return w, nil
}

// add appends one entry line.
func (w *manifestWriter) add(e *ManifestEntry) error {
	b, err := appendManifestEntry(w.line[:0], e)
	if err != nil {
		return fmt.Errorf("encode manifest entry %s: %w", e.Path, err)
	}
	b = append(b, '\n')
	w.line = b
	w.sum.Write(b)
	w.entries++
	if _, err := w.bw.Write(b); err != nil {
		return fmt.Errorf("write manifest %s: %w", w.f.Name(), err)
	}
	return nil
}

// finish writes the trailer, puts the final counts into the header and
// fsyncs the manifest: only then is the backup complete.
func (w *manifestWriter) finish(st Stats, hardLinks int64) error {
	t, err := json.Marshal(manifestTrailer{Trailer: "sha256", Entries: w.entries, SHA256: hex.EncodeToString(w.sum.Sum(nil))})
	if err != nil {
		return fmt.Errorf("encode manifest trailer: %w", err)
	}
	name := w.f.Name()
	if _, err := w.bw.Write(append(t, '\n')); err != nil {
		return fmt.Errorf("write manifest %s: %w", name, err)
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("write manifest %s: %w", name, err)
	}
	h := w.hdr
	h.Files, h.Dirs, h.Symlinks, h.HardLinks, h.Bytes = st.Files, st.Dirs, st.Symlinks, hardLinks, st.Bytes
	line, err := h.headerLine()
	if err != nil {
		return err
	}
	if _, err := w.f.WriteAt(line, 0); err != nil {
		return fmt.Errorf("write manifest header %s: %w", name, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("fsync manifest %s: %w", name, err)
	}
	return nil
}

// abandon flushes what it can and closes the manifest, which stays without
// a trailer: an incomplete backup that Verify refuses.
func (w *manifestWriter) abandon() {
	w.bw.Flush()
	w.f.Close()
}

// close closes the finished manifest.
func (w *manifestWriter) close() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close manifest %s: %w", w.f.Name(), err)
	}
	return nil
}
