package ldapexport

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// A directory server writes each search result on its own, and a reader
// that keeps up with it is woken for every entry: on 10^5 entries those
// wake-ups (and the server's work to deliver them) cost more than the
// decoding. While a page is coming, batchConn raises the socket's
// SO_RCVLOWAT to a lower bound of what is still to come, so that the
// kernel wakes the reader once per batch instead; a short deadline bounds
// the wait should the bound be wrong (a page cut short, a slow server).
const (
	lowatMin  = 4 << 10  // below this, batching is not worth a wait
	lowatMax  = 64 << 10 // a batch fills well within a socket buffer
	lowatWait = 2 * time.Millisecond
)

// batchConn is a TCP connection whose reads wait for want octets (at most
// lowatMax, at most lowatWait) when the stream expects that many.
type batchConn struct {
	net.Conn
	rc       syscall.RawConn // nil: batching unavailable
	lowat    int             // SO_RCVLOWAT in force
	want     int             // octets the stream is sure to receive
	deadline time.Time       // the caller's read deadline
}

func newBatchConn(c net.Conn) *batchConn {
	b := &batchConn{Conn: c, lowat: 1}
	if tc, ok := c.(*net.TCPConn); ok {
		b.rc, _ = tc.SyscallConn()
	}
	return b
}

// setLowat sets SO_RCVLOWAT; should the kernel refuse, batching is off.
func (c *batchConn) setLowat(n int) {
	if n == c.lowat || c.rc == nil {
		return
	}
	var err error
	if cerr := c.rc.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
	}); cerr != nil || err != nil {
		c.rc = nil
		return
	}
	c.lowat = n
}

// Read waits for a batch only when the socket is empty: whatever has come
// is read at once. The batch may be larger than p (TLS reads records in
// small pieces): the rest is there for the next reads.
func (c *batchConn) Read(p []byte) (int, error) {
	want := min(c.want, lowatMax)
	if want < lowatMin || c.rc == nil {
		c.setLowat(1)
		return c.Conn.Read(p)
	}
	c.setLowat(want)
	wait := time.Now().Add(lowatWait)
	if !c.deadline.IsZero() && c.deadline.Before(wait) {
		wait = c.deadline
	}
	c.Conn.SetReadDeadline(wait)
	n, err := c.Conn.Read(p)
	c.Conn.SetReadDeadline(c.deadline)
	var ne net.Error
	if n == 0 && errors.As(err, &ne) && ne.Timeout() && (c.deadline.IsZero() || time.Now().Before(c.deadline)) {
		// Fewer octets came than expected: take what there is.
		c.setLowat(1)
		return c.Conn.Read(p)
	}
	return n, err
}

func (c *batchConn) SetDeadline(t time.Time) error {
	c.deadline = t
	return c.Conn.SetDeadline(t)
}

func (c *batchConn) SetReadDeadline(t time.Time) error {
	c.deadline = t
	return c.Conn.SetReadDeadline(t)
}
