// Command sumdbserver serves a checksum database for bench/sumdb: x/mod's own test server
// (sumdb.NewTestServer behind sumdb.NewServer) whose records are the h1: hashes of the
// modules of a GOPROXY file tree, plus filler records so that the log has the depth of a
// real one. Every record is added before it serves, so the tree does not grow during the
// benchmark. It prints "vkey <verifier key>" and "url <base URL>" once it serves.
//
// Usage: sumdbserver TREE FILLER
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	tree, filler := os.Args[1], os.Args[2]
	nfill, err := strconv.Atoi(filler)
	if err != nil {
		log.Fatal(err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, "bench.modgate.local/sumdb")
	if err != nil {
		log.Fatal(err)
	}
	gosum := func(path, vers string) ([]byte, error) {
		if strings.HasPrefix(path, "filler.example/") {
			const zero = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
			return []byte(fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", path, vers, zero, path, vers, zero)), nil
		}
		epath, err := module.EscapePath(path)
		if err != nil {
			return nil, err
		}
		evers, err := module.EscapeVersion(vers)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(tree, epath, "@v")
		zh, err := dirhash.HashZip(filepath.Join(dir, evers+".zip"), dirhash.Hash1)
		if err != nil {
			return nil, err
		}
		gomod := filepath.Join(dir, evers+".mod")
		mh, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) { return os.Open(gomod) })
		if err != nil {
			return nil, err
		}
		return []byte(fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", path, vers, zh, path, vers, mh)), nil
	}
	ts := sumdb.NewTestServer(skey, gosum)
	ctx := context.Background()
	for i := 0; i < nfill; i++ {
		if _, err := ts.Lookup(ctx, module.Version{Path: fmt.Sprintf("filler.example/m%d", i), Version: "v1.0.0"}); err != nil {
			log.Fatal(err)
		}
	}
	err = filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".zip") {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		epath, evers, _ := strings.Cut(filepath.ToSlash(rel), "/@v/")
		path, err1 := module.UnescapePath(epath)
		vers, err2 := module.UnescapeVersion(strings.TrimSuffix(evers, ".zip"))
		if err1 != nil || err2 != nil {
			return nil
		}
		_, err = ts.Lookup(ctx, module.Version{Path: path, Version: vers})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("vkey %s\nurl http://%s\n", vkey, l.Addr())
	log.Fatal(http.Serve(l, sumdb.NewServer(ts)))
}
