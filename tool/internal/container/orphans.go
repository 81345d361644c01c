package container

import (
	"errors"
	"fmt"

	"github.com/contain-dev/contain/tool/internal/state"
)

// CleanOrphans destroys the containers whose creator died without
// destroying them: a record is an orphan as soon as no process holds its
// lock (state.Create), at once after a SIGKILL; one whose creator lives,
// creating or waiting for it, is never touched. It returns the containers
// it removed, and the failures, joined, after trying them all.
func CleanOrphans() ([]Finding, error) {
	names, err := state.List()
	if err != nil {
		return nil, err
	}
	var found []Finding
	var errs []error
	for _, name := range names {
		release, err := state.Claim(name)
		if errors.Is(err, state.ErrOwned) {
			continue // running, or being created by another process
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// A lock file alone (a creator killed inside state.Create)
		// or a record cut short leaves the name: Destroy removes the
		// files.
		rec := Record{Name: name}
		if err := state.Load(name, &rec); err != nil && !errors.Is(err, state.ErrNotExist) {
			errs = append(errs, err)
		}
		rec.Name = name
		c := &Container{rec: &rec}
		if err := c.Destroy(); err != nil {
			errs = append(errs, fmt.Errorf("dead container %s: %w", name, err))
		} else {
			found = append(found, Finding{Concern: "container", Name: name})
		}
		release()
	}
	return found, errors.Join(errs...)
}

// Reset puts the host back after creators that were killed: it destroys
// every orphan (CleanOrphans), then lets each concern scan for what it
// made that no record names. It returns what it found, in that order, and
// the failures, joined, after trying everything.
func Reset() ([]Finding, error) {
	found, err := CleanOrphans()
	errs := []error{err}
	for _, k := range concerns {
		if k.scan == nil {
			continue
		}
		more, err := k.scan()
		found = append(found, more...)
		if err != nil {
			errs = append(errs, fmt.Errorf("clean %s: %w", k.name, err))
		}
	}
	return found, errors.Join(errs...)
}
