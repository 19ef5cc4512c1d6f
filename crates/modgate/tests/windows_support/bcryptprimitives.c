/* ProcessPrng, which Rust's standard library takes its random bytes from on Windows 10
 * and later (bcryptprimitives.dll), for wine 8, which lacks that library: the same
 * bytes from RtlGenRandom (advapi32's SystemFunction036), which wine has. Only the
 * Windows test's wine prefix gets it (tests/windows.rs). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG n = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, n)) {
            return FALSE;
        }
        data += n;
        length -= n;
    }
    return TRUE;
}
