package initstage

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The barrier holds the init stage between its setup and the execve(2) of
// the command, so that one process can create a container and another
// start it later: runc's exec.fifo. It is a fifo (fifo(7)) that the init
// stage opens for reading and writing first thing (openBarrier), and on
// which it blocks, reading, once its setup is done (stage.wait). The
// other way round from runc, whose init blocks opening it for writing: a
// fifo that nobody reads tells a starter at once that no init waits,
// where a fifo that nobody writes makes the starter wait forever.
//
//	parent (Create)                init stage                   starter (Release)
//	mkfifo, open O_PATH  -fd 5->   open /proc/self/fd/5 O_RDWR
//	                               setup, look the command up
//	read "ready" on fd 4  <-----   report ready, read(fifo)
//	                                 ... blocks ...             open O_WRONLY|O_NONBLOCK
//	                               gets the byte   <----------  write one byte
//	                               close(fifo)     ---------->  poll: POLLERR, no reader
//	                               execve(command)              remove the fifo

// newBarrier makes the barrier's fifo at path and opens it with O_PATH,
// which holds the fifo without being one of its readers or writers
// (open(2)): it becomes fd 5 of the init stage, and the starter's way in
// when it is this process.
//
// An empty path makes a private barrier, which only this process can
// release: a pipe(2), of which it keeps the write end only. Reopened
// through /proc/self/fd, a pipe is a fifo without a name (pipe(7)), so
// the init stage and release treat both alike, and the private one costs
// no file system work.
//
// Equivalent to: mkfifo -m 600 $path
func newBarrier(path string) (*os.File, error) {
	if path == "" {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			return nil, fmt.Errorf("barrier: pipe: %w", err)
		}
		unix.Close(p[0])
		return os.NewFile(uintptr(p[1]), "barrier"), nil
	}
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("barrier: mkfifo %s: %w", path, err)
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("barrier: open %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// removeBarrier closes the process's hold on the barrier and removes the
// fifo's name, if it has one.
func (p *Process) removeBarrier() {
	if p.barrier == nil {
		return
	}
	p.barrier.Close()
	p.barrier = nil
	if p.fifo != "" {
		os.Remove(p.fifo)
	}
}

// Release starts, from any process, the container whose init stage waits
// at the barrier fifo, the Options.ExecFifo given to Create. It returns
// once the init stage has passed the barrier, on its way to execve(2), and
// removes the fifo, as runc start does with exec.fifo. A container that
// does not wait there, started already or dead, is an error at once.
// Whether the command's execve(2) succeeded is for Create's caller to
// learn, on fd 4 (Process.Wait).
//
// Equivalent to: runc start $id
func Release(fifo string) error {
	if err := release(fifo, true); err != nil {
		return err
	}
	return os.Remove(fifo)
}

// release writes the byte the init stage waits for into the fifo at path
// and, when wait, waits until the stage has closed its end.
func release(path string, wait bool) error {
	// Non-blocking: without a reader, open(2) fails with ENXIO instead of
	// waiting for one (fifo(7)).
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENXIO) || errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("release %s: no init stage waits at this barrier: the container has started already, or its init died", path)
	}
	if err != nil {
		return fmt.Errorf("release %s: %w", path, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte{0}); err != nil {
		return fmt.Errorf("release %s: %w", path, err)
	}
	if !wait {
		return nil
	}
	// poll(2) reports POLLERR on a pipe's write end that has no reader
	// left, whatever events were asked for: the init stage closed its end
	// right after it read the byte, or it died.
	fds := []unix.PollFd{{Fd: int32(fd)}}
	_, err = unix.Poll(fds, -1)
	for err == unix.EINTR {
		_, err = unix.Poll(fds, -1)
	}
	if err != nil {
		return fmt.Errorf("release %s: poll: %w", path, err)
	}
	// The byte still in the pipe: nobody took it. (FIONREAD, which is
	// TIOCINQ on Linux, counts the unread bytes of a pipe: pipe(7).)
	if n, err := unix.IoctlGetInt(fd, unix.TIOCINQ); err == nil && n > 0 {
		return fmt.Errorf("release %s: the init stage died at its barrier", path)
	}
	return nil
}
