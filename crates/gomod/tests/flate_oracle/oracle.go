// Command oracle compresses test inputs the way the go command does, for flate_go.rs.
//
// Usage: oracle DIR. DIR/in holds inputs named 0, 1, ...; DIR/names lists one zip entry
// name per input. For each input it writes DIR/out/N.L (for levels 2 to 9) with
// compress/flate, and DIR/out/all.zip with archive/zip as golang.org/x/mod/zip.Create
// writes module zips: Create(name) then io.Copy.
package main

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	dir := os.Args[1]
	names, err := os.Open(filepath.Join(dir, "names"))
	check(err)
	defer names.Close()
	zf, err := os.Create(filepath.Join(dir, "out", "all.zip"))
	check(err)
	zw := zip.NewWriter(zf)
	sc := bufio.NewScanner(names)
	for i := 0; sc.Scan(); i++ {
		in := filepath.Join(dir, "in", strconv.Itoa(i))
		data, err := os.ReadFile(in)
		check(err)
		for level := 2; level <= 9; level++ {
			out, err := os.Create(filepath.Join(dir, "out", fmt.Sprintf("%d.%d", i, level)))
			check(err)
			fw, err := flate.NewWriter(out, level)
			check(err)
			_, err = fw.Write(data)
			check(err)
			check(fw.Close())
			check(out.Close())
		}
		w, err := zw.Create(sc.Text())
		check(err)
		f, err := os.Open(in)
		check(err)
		_, err = io.Copy(w, f)
		check(err)
		f.Close()
	}
	check(sc.Err())
	check(zw.Close())
	check(zf.Close())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
