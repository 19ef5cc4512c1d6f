package main

// Reads a file, prints Parse / ParseLax / ParseWork results.
import (
	"fmt"
	"os"

	"golang.org/x/mod/modfile"
)

func main() {
	mode := os.Args[1]
	data, _ := os.ReadFile(os.Args[2])
	name := "go.mod"
	if len(os.Args) > 3 {
		name = os.Args[3]
	}
	switch mode {
	case "fixv":
		f, err := modfile.Parse(name, data, func(path, version string) (string, error) {
			if path != "example.com/m" {
				return "", fmt.Errorf("module path must be example.com/m")
			}
			return "v" + version, nil
		})
		if err != nil {
			fmt.Printf("ERR %s\n", err)
			return
		}
		out, _ := f.Format()
		fmt.Printf("OK\n%s", out)
		for _, r := range f.Retract {
			fmt.Printf("retract %s %s %q\n", r.Low, r.High, r.Rationale)
		}
	case "strict", "lax":
		p := modfile.Parse
		if mode == "lax" {
			p = modfile.ParseLax
		}
		f, err := p(name, data, nil)
		if err != nil {
			fmt.Printf("ERR %s\n", err)
			return
		}
		out, _ := f.Format()
		fmt.Printf("OK\n%s", out)
	case "work":
		f, err := modfile.ParseWork(name, data, nil)
		if err != nil {
			fmt.Printf("ERR %s\n", err)
			return
		}
		fmt.Printf("OK\n%s", modfile.Format(f.Syntax))
	}
}
