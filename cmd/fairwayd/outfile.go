package main

import (
	"io"
	"os"
	"path/filepath"
)

// outFile is where a command's --out goes: standard output, or a file
// written beside its path and renamed onto it once whole, so a failed
// or interrupted write leaves no half file behind, and an error closing
// it is reported instead of lost.
type outFile struct {
	io.Writer
	f    *os.File
	path string
}

// createOut opens the output for path; "" is standard output. Call
// commit when everything is written, and defer discard.
func (a *app) createOut(path string) (*outFile, error) {
	if path == "" {
		return &outFile{Writer: a.stdout}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".fairway-out-*")
	if err != nil {
		return nil, err
	}
	return &outFile{Writer: f, f: f, path: path}, nil
}

// commit closes the file and moves it onto its path.
func (o *outFile) commit() error {
	if o.f == nil {
		return nil
	}
	if err := o.f.Close(); err != nil {
		return err
	}
	return os.Rename(o.f.Name(), o.path)
}

// discard removes a file commit did not move; after commit it does
// nothing.
func (o *outFile) discard() {
	if o.f != nil {
		o.f.Close()
		os.Remove(o.f.Name())
	}
}
