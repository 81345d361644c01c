// Package workshopcheck holds the test of scripts/workshop-check.sh, the
// check an attendee runs in the workshop VM: it passes on a ready machine,
// fails with the right hint when a tool or the root filesystem is
// missing, and leaves the host as it found it.
package workshopcheck
