// compose-config loads a Compose project the way `docker compose config` does, with the same library (compose-go:
// env-file interpolation, YAML merge keys, schema validation, references between services, volumes and profiles,
// COMPOSE_PROFILES and COMPOSE_PROJECT_NAME from the env file) and prints the resolved model as JSON, or the
// loader's error. The deploy tests use it because no Docker engine (and no compose plugin) exists there. Unlike
// the docker CLI it ignores the calling process's environment, so results depend on the env file alone.
//
//	compose-config -f docker-compose.yml --env-file .env [--profile stripe-mock]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var files, envFiles, profiles list
	flag.Var(&files, "f", "compose file (repeatable)")
	flag.Var(&envFiles, "env-file", "env file (repeatable)")
	flag.Var(&profiles, "profile", "profile to enable (repeatable)")
	flag.Parse()
	if len(files) == 0 {
		files = list{"docker-compose.yml"}
	}
	workDir, err := filepath.Abs(filepath.Dir(files[0]))
	if err != nil {
		fail(err)
	}
	opts, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(workDir),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(profiles...),
	)
	if err != nil {
		fail(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := json.MarshalIndent(project, "", "  ")
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
