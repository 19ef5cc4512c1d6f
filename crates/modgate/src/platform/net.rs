//! Socket errors, by what they mean rather than by each system's numbers.

use std::io;

/// Whether binding failed because the machine has no IPv6 (`EAFNOSUPPORT`,
/// `EADDRNOTAVAIL`, `EPROTONOSUPPORT`; Windows' `WSAE` equivalents).
pub fn is_no_ipv6(e: &io::Error) -> bool {
    #[cfg(unix)]
    let codes = [
        libc::EAFNOSUPPORT,
        libc::EADDRNOTAVAIL,
        libc::EPROTONOSUPPORT,
    ];
    #[cfg(windows)]
    let codes = {
        use windows_sys::Win32::Networking::WinSock::{
            WSAEADDRNOTAVAIL, WSAEAFNOSUPPORT, WSAEPROTONOSUPPORT,
        };
        [WSAEAFNOSUPPORT, WSAEADDRNOTAVAIL, WSAEPROTONOSUPPORT]
    };
    e.raw_os_error().is_some_and(|c| codes.contains(&c))
}

/// Whether an accept failed for want of resources, so that it can only succeed later
/// (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`; Windows: `WSAEMFILE`, `WSAENOBUFS`).
pub fn is_out_of_resources(e: &io::Error) -> bool {
    #[cfg(unix)]
    let codes = [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM];
    #[cfg(windows)]
    let codes = {
        use windows_sys::Win32::Networking::WinSock::{WSAEMFILE, WSAENOBUFS};
        [WSAEMFILE, WSAENOBUFS]
    };
    e.raw_os_error().is_some_and(|c| codes.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_meaning() {
        let e = io::Error::from_raw_os_error;
        assert!(is_no_ipv6(&e(libc::EAFNOSUPPORT)));
        assert!(is_no_ipv6(&e(libc::EADDRNOTAVAIL)));
        assert!(!is_no_ipv6(&e(libc::EADDRINUSE)));
        assert!(is_out_of_resources(&e(libc::EMFILE)));
        assert!(is_out_of_resources(&e(libc::ENOMEM)));
        assert!(!is_out_of_resources(&e(libc::ECONNABORTED)));
        assert!(!is_out_of_resources(&io::Error::other("x")));
    }
}
