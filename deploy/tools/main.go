// Command deploy-check validates the deployment files offline, with no cluster and no Docker engine:
//
//	deploy-check k8s [FILE|-]...   every document against the Kubernetes schemas (strict); stdin when no file
//	deploy-check compose FILE      a compose file as `docker compose config` loads it: the compose-spec schema,
//	                               interpolation from the environment, references between services/volumes/networks
//
// It prints one line per problem and exits 1 when there is any, 2 on a usage error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "k8s":
		err = checkK8s(os.Args[2:])
	case "compose":
		if len(os.Args) != 3 {
			usage()
		}
		err = checkCompose(os.Args[2])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: deploy-check k8s [FILE|-]... | deploy-check compose FILE")
	os.Exit(2)
}

func checkK8s(files []string) error {
	if len(files) == 0 {
		files = []string{"-"}
	}
	validator := newK8sValidator()
	total, failed := 0, 0
	for _, file := range files {
		var in io.Reader = os.Stdin
		if file != "-" {
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			in = f
		}
		documents, problems := validator.validateStream(file, in)
		total += documents
		for _, problem := range problems {
			fmt.Fprintln(os.Stderr, problem)
		}
		failed += len(problems)
	}
	if failed > 0 {
		return fmt.Errorf("%d problem(s) in %d document(s)", failed, total)
	}
	if total == 0 {
		return fmt.Errorf("no Kubernetes documents found")
	}
	fmt.Printf("ok: %d document(s) valid\n", total)
	return nil
}

func checkCompose(file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	options, err := cli.NewProjectOptions([]string{abs},
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithOsEnv,
		cli.WithName("deploy-check"),
	)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	fmt.Printf("ok: %d service(s) valid\n", len(project.Services))
	return nil
}
