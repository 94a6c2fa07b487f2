package remediate

// What the steps' verify functions read to prove a step's effect on the
// host. None of them trusts an exit code: installers and tools on real
// hosts exit 0 having done nothing.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"github.com/msguard/msguard/remediate/ldapexport"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// fileSum is the SHA-256 of a file's content.
func fileSum(path string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// sameFile fails unless dst holds exactly the bytes of src.
func sameFile(src, dst string) error {
	a, err := fileSum(src)
	if err != nil {
		return err
	}
	b, err := fileSum(dst)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("%s was not saved (no %s)", src, dst)
		}
		return err
	}
	if a != b {
		return fmt.Errorf("%s differs from %s", dst, src)
	}
	return nil
}

// ldifEntries counts the entries of an LDIF file (its "dn:" lines),
// reading it as a stream.
func ldifEntries(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var n int64
	start := true
	for {
		line, err := r.ReadSlice('\n')
		if start && len(line) >= 3 && (line[0] == 'd' || line[0] == 'D') && (line[1] == 'n' || line[1] == 'N') && line[2] == ':' {
			n++
		}
		// A line longer than the buffer comes in pieces: only the first
		// piece starts a line.
		start = err != bufio.ErrBufferFull
		if err == io.EOF {
			return n, nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return n, fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// namingContexts lists the suffixes a directory server holds (its root
// DSE), leaving out the server's own trees (monitor, config, schema).
func namingContexts(ctx context.Context, c ldapexport.Conn) ([]string, error) {
	conn, err := c.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"namingContexts"}, nil))
	if err != nil {
		return nil, fmt.Errorf("read the root DSE of %s: %w", c.URL, err)
	}
	var out []string
	for _, e := range res.Entries {
		for _, nc := range e.GetAttributeValues("namingContexts") {
			switch strings.ToLower(nc) {
			case "cn=monitor", "cn=config", "cn=schema", "":
				continue
			}
			out = append(out, nc)
		}
	}
	return out, nil
}

// serverEntries counts every entry the directory server at c holds below
// its naming contexts: what a full db2ldif export of it must contain. A
// context without a base entry (an empty database) counts 0.
func serverEntries(ctx context.Context, c ldapexport.Conn) (int64, error) {
	ncs, err := namingContexts(ctx, c)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, nc := range ncs {
		n, err := ldapexport.Count(ctx, c, nc, "(objectClass=*)")
		if err != nil {
			if ldapexport.IsNoSuchObject(err) {
				continue
			}
			return 0, err
		}
		total += n
	}
	return total, nil
}

// portAnswers reports whether something accepts TCP connections on port.
func portAnswers(ctx context.Context, port int) error {
	d := net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return conn.Close()
}
