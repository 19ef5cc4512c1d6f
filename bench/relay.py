# A TCP relay on 127.0.0.1 that delays every byte by a fixed one-way latency in each
# direction (what a network between a CI runner and its proxy adds), without limiting
# throughput: each chunk is forwarded when its time comes, the next ones read meanwhile.
# For benchmarks only (this machine's kernel has no netem).
# Usage: python3 bench/relay.py LISTEN_PORT TARGET_PORT ONE_WAY_MS
import asyncio, sys, time

listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000.0

async def pipe(reader, writer):
    q = asyncio.Queue()
    async def read():
        while True:
            data = await reader.read(65536)
            await q.put((time.monotonic() + delay, data))
            if not data:
                return
    async def write():
        while True:
            due, data = await q.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                try:
                    writer.write_eof()
                except OSError:
                    pass
                return
            writer.write(data)
            await writer.drain()
    try:
        await asyncio.gather(read(), write())
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()

async def handle(r, w):
    try:
        ur, uw = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        w.close()
        return
    await asyncio.gather(pipe(r, uw), pipe(ur, w))

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()

asyncio.run(main())
