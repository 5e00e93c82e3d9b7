package main

import (
	"flag"
	"fmt"
	"os"

	"fairway"
	"fairway/demo"
	"fairway/sqlite"
)

func init() {
	register(&command{
		name: "demo", summary: "Load the GPUaaS governance scenario into a fresh store and serve it", args: "[--addr HOST:PORT] [--dir DIR]",
		example: `fairway demo
fairway demo --addr 127.0.0.1:9090 --dir /tmp/fairway-demo`,
		flags: func(fs *flag.FlagSet) {
			fs.String("addr", "127.0.0.1:8080", "address to listen on")
			fs.Bool("load-only", false, "load the scenario and exit without serving")
		},
		run: func(a *app, fs *flag.FlagSet, pos []string) error {
			if err := wantArgs(pos, 0, "no arguments"); err != nil {
				return err
			}
			if a.dir == "" && a.getenv("FAIRWAY_DIR") == "" {
				dir, err := os.MkdirTemp("", "fairway-demo-")
				if err != nil {
					return err
				}
				a.dir = dir
			}
			l, err := a.openLedger(sqlite.Options{})
			if err != nil {
				return err
			}
			if actors, err := l.ListActors(a.ctx); err != nil {
				return err
			} else if len(actors) > 0 {
				return fairway.Errorf(fairway.ECONFLICT, "%s already holds a ledger; the demo loads into an empty store (leave out --dir for a fresh one)", a.storeDir())
			}
			if err := demo.Load(a.ctx, l); err != nil {
				return fmt.Errorf("load the demo: %w", err)
			}
			fmt.Fprintf(a.stdout, "Loaded the GPUaaS closeout scenario into %s\nTry: fairway next --dir %s\n     fairway gate explain OPS-UAT-KIND-FULL-001 --dir %s\n", a.storeDir(), a.storeDir(), a.storeDir())
			if getBool(fs, "load-only") {
				return nil
			}
			return serveLedger(a, l, getString(fs, "addr"), nil, 0)
		},
	})
}
