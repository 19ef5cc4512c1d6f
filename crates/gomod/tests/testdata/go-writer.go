//go:build ignore

// Writes go-writer.zip with Go's archive/zip (data descriptors, a directory entry, a
// non-ASCII name) and prints x/mod's dirhash.HashZip of it:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run go-writer.go

package main
import ("archive/zip";"bytes";"encoding/base64";"fmt";"os";"golang.org/x/mod/sumdb/dirhash")
func main(){
 var b bytes.Buffer
 zw := zip.NewWriter(&b)
 w,_ := zw.Create("example.com/m@v1.0.0/go.mod"); w.Write([]byte("module example.com/m\n"))
 zw.Create("example.com/m@v1.0.0/dir/")
 w,_ = zw.Create("example.com/m@v1.0.0/dir/é.go"); w.Write(bytes.Repeat([]byte("package dir\n"), 50))
 zw.Close()
 os.WriteFile("go.zip", b.Bytes(), 0644)
 h, err := dirhash.HashZip("go.zip", dirhash.Hash1)
 fmt.Println(h, err)
 fmt.Println(base64.StdEncoding.EncodeToString(b.Bytes()))
}
