// Package procs is part of msguard-sim (see package sim): the programs of a
// simulated install. It copies the multi-call binary into the server root
// and hard-links it as each daemon (stored, imapd, popd, mshttpd, enpd,
// job_controller, dispatcher, tcp_smtp_server, ns-httpd), writes the
// scripts (start-admin, stop-admin, start-msg, stop-msg, imsimta,
// https-*/start and stop), implements those daemons (real listeners on
// loopback ports with the real greetings) and the ctl verbs behind the
// scripts, and starts, stops and destroys a whole simulated host.
//
// A process belongs to the install when /proc/<pid>/exe resolves under the
// server root (or the Web Server root); a daemon is known by the base name
// of its executable, ns-httpd instances by their -d argument. PID 1 on the
// test hosts does not reap orphans, so a zombie always counts as exited.
package procs
