package procs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// queueDirectory writes `imsimta qm directory`: a non-interactive listing
// of INST/imta/queue. The format (this project's convention; layout.md
// leaves it open) is, per channel directory in name order:
//
//	Channel <name>: <N> messages, <H> held, <B> bytes
//	  <file>  <size>  <mtime RFC 3339>
//	  ...
//
// where <file> is relative to the channel directory (numbered
// subdirectories included, e.g. "003/ZZ01a2b3.00") and files are listed in
// directory order, then one totals line:
//
//	Total: <N> messages, <H> held, <B> bytes in <C> channels
//
// A held message is a file named *.HELD; files whose name starts with "$"
// are temporary, neither listed nor counted. Each channel is read twice
// (counts, then lines) in batches, so a queue of 10⁶ files is streamed,
// never held in memory.
func queueDirectory(queue string, out io.Writer) error {
	d, err := os.Open(queue)
	if err != nil {
		return fmt.Errorf("imsimta qm: queue %s: %w", queue, err)
	}
	ents, err := d.ReadDir(-1) // channel directories: a handful
	d.Close()
	if err != nil {
		return fmt.Errorf("imsimta qm: queue %s: %w", queue, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	w := bufio.NewWriterSize(out, 64*1024)
	var total queueCount
	channels := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		channels++
		dir := filepath.Join(queue, e.Name())
		var c queueCount
		if err := walkQueue(dir, "", nil, &c); err != nil {
			return fmt.Errorf("imsimta qm: channel %s: %w", e.Name(), err)
		}
		fmt.Fprintf(w, "Channel %s: %d messages, %d held, %d bytes\n", e.Name(), c.messages, c.held, c.bytes)
		err := walkQueue(dir, "", func(rel string, fi fs.FileInfo) {
			fmt.Fprintf(w, "  %-40s %10d  %s\n", rel, fi.Size(), fi.ModTime().Format(time.RFC3339))
		}, nil)
		if err != nil {
			return fmt.Errorf("imsimta qm: channel %s: %w", e.Name(), err)
		}
		total.messages += c.messages
		total.held += c.held
		total.bytes += c.bytes
	}
	fmt.Fprintf(w, "Total: %d messages, %d held, %d bytes in %d channels\n", total.messages, total.held, total.bytes, channels)
	return w.Flush()
}

// queueCount is the tally of a channel.
type queueCount struct {
	messages, held int
	bytes          int64
}

// walkQueue calls fn (when not nil) for every message file under dir
// (recursively, in directory order, reading entries in batches) and adds
// it to c (when not nil). Temporary "$" files and non-regular files are skipped; a file
// that vanishes meanwhile is ignored.
func walkQueue(dir, rel string, fn func(rel string, fi fs.FileInfo), c *queueCount) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		batch, err := d.ReadDir(512)
		for _, e := range batch {
			name := e.Name()
			r := path.Join(rel, name)
			if e.IsDir() {
				if err := walkQueue(filepath.Join(dir, name), r, fn, c); err != nil {
					return err
				}
				continue
			}
			if strings.HasPrefix(name, "$") || !e.Type().IsRegular() {
				continue
			}
			fi, ierr := e.Info()
			if ierr != nil {
				if errors.Is(ierr, fs.ErrNotExist) {
					continue
				}
				return ierr
			}
			if c != nil {
				c.messages++
				c.bytes += fi.Size()
				if strings.HasSuffix(strings.ToUpper(name), ".HELD") {
					c.held++
				}
			}
			if fn != nil {
				fn(r, fi)
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && len(batch) == 0) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
