package container

import (
	"time"

	"github.com/contain-dev/contain/tool/internal/network"
)

// Status is where a container is in its life.
type Status string

// The statuses, in the order a container goes through them (the OCI
// runtime spec's, with LXC's words for them in contain info).
const (
	// Creating: the record exists and the concerns are being set up.
	Creating Status = "creating"
	// Created: the init stage has built the container and waits at the
	// barrier before execve(2), for Start.
	Created Status = "created"
	// Running: the command runs.
	Running Status = "running"
	// Stopped: the container's first process has ended.
	Stopped Status = "stopped"
)

// Record is what the state file of a container holds: written by the
// process that creates the container, read by any other, and enough for
// Destroy to remove everything the container had on the host. Each
// concern's part is written before what it names exists, so that a
// creator killed halfway leaves a record that Destroy acts on.
type Record struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Bundle is Config.Bundle.
	Bundle string `json:"bundle,omitempty"`
	Rootfs string `json:"rootfs"`
	// Pid is the host pid of the container's first process, and Start its
	// start time (state.StartTime): together they name the process even
	// after its pid has been reused.
	Pid     int       `json:"pid"`
	Start   uint64    `json:"start"`
	Created time.Time `json:"created"`
	// Config is the container as it was created.
	Config *Config `json:"config"`

	// The concerns' parts, in the order of concerns.

	// UserNS is the user namespace's maps, as written (chapter 06).
	UserNS *UserNS `json:"userns,omitempty"`
	// Cgroup is the container's node, contain/NAME (chapter 07).
	Cgroup *CgroupPart `json:"cgroup,omitempty"`
	// NetFiles is the directory of the resolv.conf and hosts bound into
	// the container (chapter 08).
	NetFiles string `json:"net_files,omitempty"`
	// Network is the attachment to a bridge or ovs network: the network
	// and the ports at first, the address and the veth once leased.
	Network *network.Attachment `json:"network,omitempty"`
	// Pasta is the pid file of the pasta process of a rootless network.
	Pasta string `json:"pasta,omitempty"`
}

// CgroupPart is the record's part for the cgroup concern.
type CgroupPart struct {
	// Name is the node's last path element, contain/NAME.
	Name string `json:"name"`
	// Memory is the memory limit in bytes, 0 for none: an OOM kill is
	// reported against it.
	Memory int64 `json:"memory,omitempty"`
}
