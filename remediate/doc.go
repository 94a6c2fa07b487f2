// Package remediate carries out the iPlanet Messaging Server 5.x → 5.2
// upgrade of runbook.md §1–§6 on a host, and its backout (§7).
//
// A run is a Plan of Steps, each with check (already done?), do, verify
// and undo, executed in the runbook's order under a per-root lock. Every
// step is journaled (an intent record before, a done record after, each
// checksummed and fsynced), so a killed run resumes from the last
// completed step. Backups are verified by re-reading before the first
// destructive step; a failed step triggers the backout, which restores the
// server root from the verified backup and proves it by comparing the host
// with the backup's manifest.
//
// The tree copy engine (treebackup) and the installer driver (installer)
// are packages of their own. The package never imports the collectors or
// the policies: the command wires them in through Options (Collect, Gate,
// Daemons, ScanQueue), keeping imports flowing one way.
package remediate
