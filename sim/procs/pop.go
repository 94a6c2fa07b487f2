package procs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/tree"
)

// No POP3 server library is served to this project, so popd speaks RFC
// 1939 itself: it is small. USER/PASS (checked with a bind to the user
// directory), STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, CAPA, QUIT;
// messages marked with DELE are expunged from the store at QUIT.

// popGreeting is popd's banner (layout.md's convention).
func popGreeting(st *sim.State) string {
	return "+OK " + st.Scenario.Host + " POP3 service (" + sim.MsgBanner(st.MsgVersion) + ")"
}

// popServer serves POP3 on a listener.
type popServer struct {
	greeting  string
	partition string
	login     func(user, password string) (uid string, err error)
	stderr    io.Writer
}

// newPOPServer is popd's server for st: logins against its user directory,
// maildrops in its store.
func newPOPServer(st *sim.State, stderr io.Writer) *popServer {
	dir := userDirOf(st)
	return &popServer{
		greeting:  popGreeting(st),
		partition: st.Paths().Store(),
		login: func(user, password string) (string, error) {
			return loginUser(dir, stderr, "popd", user, password)
		},
		stderr: stderr,
	}
}

// serve accepts connections until ctx ends.
func (s *popServer) serve(ctx context.Context, ln net.Listener) error {
	go func() { <-ctx.Done(); ln.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			s.session(c)
		}()
	}
}

// popSession is one connection's state.
type popSession struct {
	s       *popServer
	w       *bufio.Writer
	user    string
	mbox    *tree.Mailbox
	msgs    []tree.StoredMessage // the maildrop as it was at PASS
	deleted map[int]bool         // by message number (1-based)
}

func (s *popServer) session(c net.Conn) {
	ps := &popSession{s: s, w: bufio.NewWriter(c), deleted: map[int]bool{}}
	r := bufio.NewReader(c)
	ps.reply("%s", s.greeting)
	for {
		if ps.w.Flush() != nil {
			return
		}
		_ = c.SetReadDeadline(time.Now().Add(idleTimeout))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		if quit := ps.command(strings.ToUpper(verb), strings.TrimSpace(arg)); quit {
			ps.w.Flush()
			return
		}
	}
}

func (ps *popSession) reply(format string, a ...any) {
	fmt.Fprintf(ps.w, format+"\r\n", a...)
}

// command runs one command; it tells whether the session ends.
func (ps *popSession) command(verb, arg string) bool {
	if verb == "QUIT" {
		ps.quit()
		return true
	}
	if verb == "CAPA" {
		ps.reply("+OK Capability list follows\r\nUSER\r\nUIDL\r\nTOP\r\n.")
		return false
	}
	if ps.mbox == nil {
		ps.authorization(verb, arg)
		return false
	}
	ps.transaction(verb, arg)
	return false
}

func (ps *popSession) authorization(verb, arg string) {
	switch verb {
	case "USER":
		if arg == "" {
			ps.reply("-ERR USER needs a name")
			return
		}
		ps.user = arg
		ps.reply("+OK Name is a valid mailbox")
	case "PASS":
		if ps.user == "" {
			ps.reply("-ERR USER first")
			return
		}
		uid, err := ps.s.login(ps.user, arg)
		if err != nil {
			ps.user = ""
			ps.reply("-ERR [AUTH] %v", err)
			return
		}
		mb := tree.OpenMailbox(ps.s.partition, uid)
		ix, err := mb.Read()
		if err != nil {
			fmt.Fprintf(ps.s.stderr, "%s popd: open maildrop of %s: %v\n", time.Now().Format(time.RFC3339), uid, err)
			ps.reply("-ERR [SYS/TEMP] Cannot open the maildrop")
			return
		}
		ps.mbox, ps.msgs = &mb, ix.Messages
		ps.reply("+OK Maildrop ready, %d messages", len(ps.msgs))
	default:
		ps.reply("-ERR Unknown command in the AUTHORIZATION state: %s", verb)
	}
}

// msg returns message number arg (1-based) unless it does not exist or is
// deleted, in which case it replies -ERR.
func (ps *popSession) msg(arg string) (int, bool) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > len(ps.msgs) {
		ps.reply("-ERR No such message")
		return 0, false
	}
	if ps.deleted[n] {
		ps.reply("-ERR Message %d already deleted", n)
		return 0, false
	}
	return n, true
}

// wire is message n as POP3 sends it: CRLF line ends.
func (ps *popSession) wire(n int) ([]byte, error) {
	b, err := ps.mbox.Body(ps.msgs[n-1])
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(storeForm(b), []byte("\n"), []byte("\r\n")), nil
}

// size is the size of message n as sent (CRLF line ends).
func (ps *popSession) size(n int) int {
	b, err := ps.wire(n)
	if err != nil {
		return int(ps.msgs[n-1].Size)
	}
	return len(b)
}

func (ps *popSession) transaction(verb, arg string) {
	switch verb {
	case "STAT":
		count, total := 0, 0
		for n := 1; n <= len(ps.msgs); n++ {
			if !ps.deleted[n] {
				count++
				total += ps.size(n)
			}
		}
		ps.reply("+OK %d %d", count, total)
	case "LIST", "UIDL":
		line := func(n int) string {
			if verb == "LIST" {
				return fmt.Sprintf("%d %d", n, ps.size(n))
			}
			return fmt.Sprintf("%d %d", n, ps.msgs[n-1].UID)
		}
		if arg != "" {
			if n, ok := ps.msg(arg); ok {
				ps.reply("+OK %s", line(n))
			}
			return
		}
		var b strings.Builder
		b.WriteString("+OK")
		for n := 1; n <= len(ps.msgs); n++ {
			if !ps.deleted[n] {
				b.WriteString("\r\n" + line(n))
			}
		}
		ps.reply("%s\r\n.", b.String())
	case "RETR", "TOP":
		num, lines, _ := strings.Cut(arg, " ")
		n, ok := ps.msg(num)
		if !ok {
			return
		}
		body, err := ps.wire(n)
		if err != nil {
			ps.reply("-ERR [SYS/TEMP] %v", err)
			return
		}
		if verb == "TOP" {
			k, err := strconv.Atoi(strings.TrimSpace(lines))
			if err != nil || k < 0 {
				ps.reply("-ERR TOP needs a message number and a line count")
				return
			}
			body = top(body, k)
		}
		ps.reply("+OK %d octets", len(body))
		ps.w.Write(dotStuff(body))
		ps.reply(".")
	case "DELE":
		if n, ok := ps.msg(arg); ok {
			ps.deleted[n] = true
			ps.reply("+OK Message %d deleted", n)
		}
	case "RSET":
		clear(ps.deleted)
		ps.reply("+OK")
	case "NOOP":
		ps.reply("+OK")
	default:
		ps.reply("-ERR Unknown command: %s", verb)
	}
}

// quit ends the session; in the TRANSACTION state it first removes the
// messages marked with DELE from the store (the UPDATE state).
func (ps *popSession) quit() {
	if ps.mbox == nil || len(ps.deleted) == 0 {
		ps.reply("+OK Goodbye")
		return
	}
	gone := map[uint32]bool{}
	for n := range ps.deleted {
		gone[ps.msgs[n-1].UID] = true
	}
	err := ps.mbox.Update(func(ix *tree.MailboxIndex) error {
		for i := range ix.Messages {
			if gone[ix.Messages[i].UID] && !ix.Messages[i].Deleted() {
				ix.Messages[i].Flags = append(ix.Messages[i].Flags, tree.DeletedFlag)
			}
		}
		return nil
	})
	if err == nil {
		_, err = ps.mbox.Expunge()
	}
	if err != nil {
		fmt.Fprintf(ps.s.stderr, "%s popd: remove deleted messages of %s: %v\n", time.Now().Format(time.RFC3339), ps.mbox.UID, err)
		ps.reply("-ERR [SYS/TEMP] Some deleted messages not removed")
		return
	}
	ps.reply("+OK Goodbye, %d messages deleted", len(gone))
}

// top is the header, the blank line and the first k body lines of a
// CRLF message.
func top(msg []byte, k int) []byte {
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	if i < 0 {
		return msg
	}
	end := i + 4
	for ; k > 0 && end < len(msg); k-- {
		j := bytes.Index(msg[end:], []byte("\r\n"))
		if j < 0 {
			end = len(msg)
			break
		}
		end += j + 2
	}
	return msg[:end]
}

// dotStuff prefixes lines starting with "." with another "." and makes
// sure the text ends with CRLF, so ".\r\n" can end the multi-line reply.
func dotStuff(msg []byte) []byte {
	var b bytes.Buffer
	for len(msg) > 0 {
		line := msg
		if i := bytes.Index(msg, []byte("\r\n")); i >= 0 {
			line, msg = msg[:i+2], msg[i+2:]
		} else {
			msg = nil
			line = append(bytes.Clone(line), '\r', '\n')
		}
		if len(line) > 0 && line[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(line)
	}
	return b.Bytes()
}
