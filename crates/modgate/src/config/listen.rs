//! The listen address as Go servers read it (`net.Listen("tcp", addr)`): `HOST:PORT`, with
//! an empty host (`:3000`) meaning every interface, IPv6 in brackets (`[::1]:3000`,
//! `[::]:3000`), a host name resolved, and the port a number.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// Where to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// Every interface (`:PORT`): IPv6 and IPv4 where the machine has IPv6, else IPv4.
    Any(u16),
    /// One literal address.
    Addr(SocketAddr),
    /// A host name, resolved when binding.
    Host(String, u16),
}

/// What a listen address may look like, for error messages.
pub const SYNTAX: &str =
    "want HOST:PORT, such as 127.0.0.1:3000, :3000 (every interface), [::1]:3000 or localhost:3000";

/// A listen address refused: the text, what is wrong, and [`SYNTAX`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: {problem} ({SYNTAX})")]
pub struct ListenError {
    /// The address as given.
    pub text: String,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a listen address (Go's words where Go refuses it too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// `[` without `]`.
    #[error("missing ']' in address")]
    MissingBracket,
    /// No `:PORT`.
    #[error("missing port in address")]
    MissingPort,
    /// An IPv6 address without brackets, or a stray colon.
    #[error("too many colons in address (an IPv6 address goes in brackets)")]
    TooManyColons,
    /// A port over 65535.
    #[error("port out of range (0 to 65535)")]
    PortOutOfRange,
    /// A port that is not digits (a service name).
    #[error("the port is not a number")]
    PortNotNumber,
    /// An IPv6 host outside brackets.
    #[error("an IPv6 address goes in brackets")]
    Ipv6WithoutBrackets,
    /// Brackets around something other than an IPv6 address.
    #[error("not an IPv6 address in brackets")]
    NotIpv6InBrackets,
    /// A host that is neither an address nor a host name.
    #[error("not a host name")]
    NotHostName,
}

/// Parses `text` as Go's `net.SplitHostPort` does, with a numeric port.
pub fn parse(text: &str) -> Result<Listen, ListenError> {
    let bad = |problem| ListenError {
        text: text.to_string(),
        problem,
    };
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| bad(Problem::MissingBracket))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| bad(Problem::MissingPort))?;
        (h, port)
    } else {
        let (h, port) = text
            .rsplit_once(':')
            .ok_or_else(|| bad(Problem::MissingPort))?;
        if h.contains(':') {
            return Err(bad(Problem::TooManyColons));
        }
        (h, port)
    };
    let port: u16 = match port {
        "" => 0,
        p if p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse().map_err(|_| bad(Problem::PortOutOfRange))?
        }
        _ => return Err(bad(Problem::PortNotNumber)),
    };
    if host.is_empty() {
        return Ok(Listen::Any(port));
    }
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        if ip.is_ipv6() && !text.starts_with('[') {
            return Err(bad(Problem::Ipv6WithoutBrackets));
        }
        return Ok(Listen::Addr(SocketAddr::new(ip, port)));
    }
    if text.starts_with('[') {
        return Err(bad(Problem::NotIpv6InBrackets));
    }
    if host
        .bytes()
        .any(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'))
    {
        return Err(bad(Problem::NotHostName));
    }
    Ok(Listen::Host(host.to_string(), port))
}

/// Binds `listen`: every interface as Go does (dual-stack `[::]`, IPv4 alone when the
/// machine has no IPv6), else the address or the host's first address that binds.
pub async fn bind(listen: &Listen) -> std::io::Result<tokio::net::TcpListener> {
    use tokio::net::TcpListener;
    match listen {
        Listen::Any(port) => match dual_stack(*port) {
            Ok(l) => Ok(l),
            Err(e) if crate::platform::net::is_no_ipv6(&e) => {
                TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, *port))).await
            }
            Err(e) => Err(e),
        },
        Listen::Addr(a) => TcpListener::bind(a).await,
        // As Go: the host's first IPv4 address, else its first.
        Listen::Host(h, port) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((h.as_str(), *port))
                .await?
                .collect();
            let first = addrs
                .iter()
                .find(|a| a.is_ipv4())
                .or(addrs.first())
                .copied()
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, format!("{h} has no address"))
                })?;
            TcpListener::bind(first).await
        }
    }
}

/// `[::]:port` taking IPv4 connections too, whatever the system's default for IPv6
/// sockets (`net.ipv6.bindv6only`), as Go's listener does.
fn dual_stack(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP))?;
    s.set_only_v6(false)?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)).into())?;
    s.listen(1024)?;
    tokio::net::TcpListener::from_std(s.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_syntax() {
        let addr = |s: &str| Listen::Addr(s.parse().unwrap());
        for (text, want) in [
            (":3000", Listen::Any(3000)),
            (":0", Listen::Any(0)),
            (":", Listen::Any(0)),
            ("127.0.0.1:3000", addr("127.0.0.1:3000")),
            ("0.0.0.0:80", addr("0.0.0.0:80")),
            ("[::]:3000", addr("[::]:3000")),
            ("[::1]:3000", addr("[::1]:3000")),
            ("localhost:3000", Listen::Host("localhost".into(), 3000)),
            (
                "proxy.corp.example:8080",
                Listen::Host("proxy.corp.example".into(), 8080),
            ),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn what_go_refuses_is_refused() {
        use Problem::*;
        for (text, problem, why) in [
            ("3000", MissingPort, "missing port in address"),
            ("localhost", MissingPort, "missing port in address"),
            (
                "::1:3000",
                TooManyColons,
                "too many colons in address (an IPv6 address goes in brackets)",
            ),
            ("[::1:3000", MissingBracket, "missing ']' in address"),
            ("[::1]", MissingPort, "missing port in address"),
            (
                "[localhost]:3000",
                NotIpv6InBrackets,
                "not an IPv6 address in brackets",
            ),
            (":http", PortNotNumber, "the port is not a number"),
            (":70000", PortOutOfRange, "port out of range (0 to 65535)"),
            ("bad host:1", NotHostName, "not a host name"),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.problem, problem, "{text}");
            assert_eq!(
                e.to_string(),
                format!("{text:?}: {why} ({SYNTAX})"),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn every_interface_and_one_address_bind() {
        let any = bind(&Listen::Any(0)).await.unwrap();
        let a = any.local_addr().unwrap();
        assert!(a.ip().is_unspecified(), "{a}");
        // Reached on loopback, as Go's :PORT is.
        tokio::net::TcpStream::connect(("127.0.0.1", a.port()))
            .await
            .unwrap();
        let one = bind(&parse("127.0.0.1:0").unwrap()).await.unwrap();
        assert_eq!(one.local_addr().unwrap().ip().to_string(), "127.0.0.1");
        // localhost: its IPv4 address first, as Go.
        let host = bind(&parse("localhost:0").unwrap()).await.unwrap();
        assert_eq!(host.local_addr().unwrap().ip().to_string(), "127.0.0.1");
    }
}
