# A GOPROXY tree for the benchmarks (bench/cache, bench/fleet): s0..s399 standalone
# modules (a little code and 40 KB of data each), g0..g119 a graph (gN requires g(N+1)
# and g(N+2)), each v1.0.0 with its .info, .mod, .zip and @v/list.
# Usage: python3 bench/tree.py DIR
import io, json, os, random, sys, zipfile
root = sys.argv[1]
rnd = random.Random(1)
def publish(path, version, gomod, files):
    d = os.path.join(root, path, "@v")
    os.makedirs(d, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{path}@{version}/go.mod", gomod)
        for name, data in files.items():
            z.writestr(f"{path}@{version}/{name}", data)
    open(os.path.join(d, version + ".zip"), "wb").write(buf.getvalue())
    open(os.path.join(d, version + ".mod"), "w").write(gomod)
    json.dump({"Version": version, "Time": "2024-01-02T03:04:05Z"}, open(os.path.join(d, version + ".info"), "w"))
    open(os.path.join(d, "list"), "w").write(version + "\n")
for i in range(400):
    p = f"bench.example.com/s{i}"
    data = "".join(f"// {rnd.getrandbits(64):016x}\n" for _ in range(2200))
    publish(p, "v1.0.0", f"module {p}\n\ngo 1.21\n", {f"s{i}.go": f"package s{i}\n\nconst N = {i}\n", "data.go": data + f"package s{i}\n"})
n = 120
for i in range(n):
    p = f"bench.example.com/g{i}"
    req = "".join(f"require bench.example.com/g{j} v1.0.0\n" for j in (i + 1, i + 2) if j < n)
    publish(p, "v1.0.0", f"module {p}\n\ngo 1.21\n\n{req}", {f"g{i}.go": f"package g{i}\n", "data.go": f"package g{i}\n// {'x' * 20000}\n"})
