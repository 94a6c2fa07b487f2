// Package procs is part of msguard-sim (see package sim): the programs of a
// simulated install. It copies the multi-call binary into the server root
// and hard-links it as each daemon (stored, imapd, popd, mshttpd, enpd,
// job_controller, dispatcher, tcp_smtp_server, ns-httpd), writes the
// scripts (start-admin, stop-admin, start-msg, stop-msg, imsimta,
// https-*/start and stop), implements those daemons (real listeners on
// loopback ports with the real greetings) and the ctl verbs behind the
// scripts, and starts, stops and destroys a whole simulated host.
//
// # Mail flow
//
// The install carries mail as users see it, so a probe can submit a
// message and read it back (issue 17):
//   - SMTP: the dispatcher holds the SMTP port (dispatcher.cnf) and passes
//     it to its tcp_smtp_server child, which serves it with go-smtp behind
//     the iPlanet banner (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no
//     STARTTLS: the simulated install has no certificate). Recipients in the
//     local domains (siroe.com and the host name) whose mail attribute the
//     directory knows are accepted; others get "550 5.7.1 Relaying not
//     allowed: <addr>", unknown local ones "550 5.1.1". Each message
//     becomes a queue file of the ims-ms channel (layout.md's format, so
//     msguard's queue collector counts it) and a job in ROOT/.msguard-sim/jobs.
//   - Delivery: the job controller, on every version, delivers its jobs
//     into the recipients' store mailboxes (=<uid>/store.idx and
//     00/<n>.msg) and removes the queue file, polling every 100 ms. The
//     planted backlog is another matter: 5.0 and 5.1 never deliver it
//     (kept for the quiescence checks and the backup), 5.2 moves it to
//     ROOT/.msguard-sim/delivered once at start.
//   - IMAP: imapd serves IMAP4rev1 with go-imap v1's server behind the
//     iPlanet banner. LOGIN finds the user's entry by uid under
//     local.ugldapbasedn (msg.conf) and binds as it to the real directory;
//     the session sees the user's INBOX in the store, and SELECT, FETCH,
//     SEARCH, STORE (\Deleted, \Seen, ...), COPY/APPEND to INBOX and
//     EXPUNGE work on store.idx and the message files. No STARTTLS.
//   - POP3: popd speaks RFC 1939 itself (no POP3 server library is served
//     here): USER/PASS with the same directory bind, STAT, LIST, UIDL,
//     RETR, TOP, DELE, RSET, NOOP, CAPA, QUIT; DELE'd messages leave the
//     store at QUIT. It serves whatever service.pop.enable says (start-msg
//     starts popd in any case).
//
// The probe account is the scenario's secrets.probe_uid (default the last
// user; user0200 in testdata/scenarios/reference.yaml), address
// <uid>@siroe.com, directory password secrets.probe_password
// (reference: in the YAML; never printed by the simulator). Every other
// user's password is "pw-<uid>" (directory.PasswordOf).
//
// Faults (sim.FailSpec; planted in the scenario or on a created host with
// sim.PlantFault / `msguard-sim fault`; read live by the daemons):
//   - delivery_stops ("delivery-stops"): the job controller runs and
//     delivers nothing; a submitted message stays in the queue
//     (postflight.mailflow.delivery).
//   - imap_refuses_logins ("imap-refuses-logins"): imapd answers every
//     LOGIN "NO [UNAVAILABLE] LOGIN failed: directory schema error ..."
//     (postflight.mailflow.fetch); POP3 still logs in.
//   - smtp_relay_denied ("smtp-relay-denied DOMAIN"): RCPT TO an address
//     in DOMAIN, local or not, gets "550 5.7.1 Relaying not allowed:
//     <addr>" (postflight.mailflow.submit).
//
// A process belongs to the install when /proc/<pid>/exe resolves under the
// server root (or the Web Server root); a daemon is known by the base name
// of its executable, ns-httpd instances by their -d argument. PID 1 on the
// test hosts does not reap orphans, so a zombie always counts as exited.
package procs
