package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// versionInfo is what `fairway version` reports: the module version and,
// for a build from a checkout, the commit it was built from.
type versionInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

func init() {
	register(&command{
		name: "version", summary: "Print Fairway's version, the commit it was built from, and the Go version", args: "",
		example: `fairway version
fairway version --json`,
		setup: noFlags(func(a *app, pos []string) error {
			if err := wantArgs(pos, 0, "no arguments"); err != nil {
				return err
			}
			v := versionInfo{Version: "(unknown)"}
			if bi, ok := debug.ReadBuildInfo(); ok {
				v.Version, v.Go = bi.Main.Version, bi.GoVersion
				for _, s := range bi.Settings {
					switch s.Key {
					case "vcs.revision":
						v.Commit = s.Value
					case "vcs.modified":
						v.Modified = s.Value == "true"
					}
				}
			}
			return a.output(v, func(w io.Writer) {
				fmt.Fprintf(w, "fairway %s", v.Version)
				if v.Commit != "" {
					fmt.Fprintf(w, " (commit %s", v.Commit)
					if v.Modified {
						fmt.Fprint(w, ", with uncommitted changes")
					}
					fmt.Fprint(w, ")")
				}
				fmt.Fprintf(w, " %s\n", v.Go)
			})
		}),
	})
}
