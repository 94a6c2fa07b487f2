package script

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// marker starts every structural line of a bundle.
const marker = "@@msguard@@ "

// bundleName is the text bundle's name inside the tar archive.
const bundleName = "msguard-bundle.txt"

// bundleHeader is the first line of a version 1 bundle.
const bundleHeader = marker + "BUNDLE msguard-collect/1"

// openBundle returns the text bundle inside r: r itself, its gzip
// decompression, or the msguard-bundle.txt member of a (gzipped) tar.
func openBundle(r io.Reader) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	if head, _ := br.Peek(512); len(head) == 512 && bytes.Equal(head[257:262], []byte("ustar")) {
		tr := tar.NewReader(br)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("bundle: the archive holds no %s", bundleName)
			}
			if err != nil {
				return nil, fmt.Errorf("bundle: %w", err)
			}
			if strings.TrimPrefix(h.Name, "./") == bundleName {
				br = bufio.NewReaderSize(tr, 64<<10)
				break
			}
		}
	}
	first, err := br.ReadString('\n')
	if strings.TrimRight(first, "\r\n") != bundleHeader {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		return nil, errors.New("bundle: not a msguard collector bundle (no " + bundleHeader + " line): make it with `msguard collect --emit-script`")
	}
	return br, nil
}

// section is one part of a bundle: a BEGIN line, its body and END line,
// or a one-line marker (FILE ... missing, CMD ... missing, DONE, ...).
type section struct {
	kind string   // "file", "cmd", "tree", "meta", ... or "FILE", "CMD", "DONE" for markers
	args []string // the rest of the BEGIN or marker line, split on spaces
	line string   // the whole line after the kind
}

// reader walks the sections of a text bundle.
type reader struct {
	br   *bufio.Reader
	line int
}

// next returns the next section head; io.EOF at the end of the bundle.
func (r *reader) next() (*section, error) {
	for {
		l, err := r.readLine()
		if err != nil {
			return nil, err
		}
		rest, ok := strings.CutPrefix(l, marker)
		if !ok {
			if strings.TrimSpace(l) == "" {
				continue
			}
			return nil, fmt.Errorf("bundle line %d: text outside a section", r.line)
		}
		if b, ok := strings.CutPrefix(rest, "BEGIN "); ok {
			kind, after, _ := strings.Cut(b, " ")
			return &section{kind: kind, line: after, args: strings.Fields(after)}, nil
		}
		kind, after, _ := strings.Cut(rest, " ")
		return &section{kind: kind, line: after, args: strings.Fields(after)}, nil
	}
}

// readLine reads one line without its line ending.
func (r *reader) readLine() (string, error) {
	l, err := r.br.ReadString('\n')
	if err != nil && (l == "" || !errors.Is(err, io.EOF)) {
		if errors.Is(err, io.EOF) {
			return "", io.EOF
		}
		return "", fmt.Errorf("bundle line %d: %w", r.line+1, err)
	}
	r.line++
	return strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r"), nil
}

// body calls fn for each line of the current section's body and returns
// the exit status its END line records ("" when it records none).
func (r *reader) body(fn func(line string)) (string, error) {
	for {
		l, err := r.readLine()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("bundle line %d: the bundle ends inside a section (the script was interrupted?)", r.line)
		}
		if err != nil {
			return "", err
		}
		if rest, ok := strings.CutPrefix(l, marker+"END "); ok {
			_, rc, _ := strings.Cut(rest, " rc=")
			return rc, nil
		}
		fn(l)
	}
}

// bodyReader is the current section's body as an io.Reader (lines with
// "\n"); rc holds the END line's status once it returned io.EOF.
type bodyReader struct {
	r   *reader
	buf []byte
	rc  string
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		l, err := b.r.readLine()
		switch {
		case errors.Is(err, io.EOF):
			b.err = fmt.Errorf("bundle line %d: the bundle ends inside a section (the script was interrupted?)", b.r.line)
			continue
		case err != nil:
			b.err = err
			continue
		}
		if rest, ok := strings.CutPrefix(l, marker+"END "); ok {
			_, b.rc, _ = strings.Cut(rest, " rc=")
			b.err = io.EOF
			continue
		}
		b.buf = append(b.buf[:0], l...)
		b.buf = append(b.buf, '\n')
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

// drain reads the rest of the body (after a consumer stopped early).
func (b *bodyReader) drain() error {
	_, err := io.Copy(io.Discard, b)
	return err
}
