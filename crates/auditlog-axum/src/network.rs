//! Where a request came from: the peer, or what trusted proxies say.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use http::HeaderMap;

/// An IP network (`10.0.0.0/8`, `::1/128`) or a single address (`127.0.0.1`)
/// whose `X-Forwarded-For` is believed.
///
/// ```
/// use auditlog_axum::IpNetwork;
///
/// let net: IpNetwork = "10.0.0.0/8".parse().unwrap();
/// assert!(net.contains("10.1.2.3".parse().unwrap()));
/// assert!(!net.contains("11.0.0.1".parse().unwrap()));
/// assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// The network of `addr` with `prefix` leading bits, or `None` when the
    /// prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let addr = addr.to_canonical();
        (prefix <= max_prefix(addr)).then_some(IpNetwork { addr, prefix })
    }

    /// Whether `ip` (IPv4-mapped IPv6 counts as IPv4) lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

impl From<IpAddr> for IpNetwork {
    fn from(addr: IpAddr) -> Self {
        let addr = addr.to_canonical();
        IpNetwork {
            addr,
            prefix: max_prefix(addr),
        }
    }
}

/// A trusted proxy that is neither an address nor `address/prefix`; its
/// [`source`](std::error::Error::source) is the part that did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseNetworkError {
    text: String,
    cause: Cause,
}

/// What was wrong with the text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cause {
    Address(std::net::AddrParseError),
    Prefix(std::num::ParseIntError),
    /// A number, but more bits than the address has.
    PrefixTooLong,
}

impl fmt::Display for ParseNetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "trusted proxy {:?}: expected an IP address or address/prefix",
            self.text
        )
    }
}

impl std::error::Error for ParseNetworkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Cause::Address(error) => Some(error),
            Cause::Prefix(error) => Some(error),
            Cause::PrefixTooLong => None,
        }
    }
}

impl FromStr for IpNetwork {
    type Err = ParseNetworkError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |cause| ParseNetworkError {
            text: text.to_owned(),
            cause,
        };
        let trimmed = text.trim();
        let (addr, prefix) = match trimmed.split_once('/') {
            None => (trimmed, None),
            Some((addr, prefix)) => (addr, Some(prefix)),
        };
        let addr = addr
            .parse::<IpAddr>()
            .map_err(|e| error(Cause::Address(e)))?;
        let Some(prefix) = prefix else {
            return Ok(addr.into());
        };
        let prefix = prefix.parse::<u8>().map_err(|e| error(Cause::Prefix(e)))?;
        IpNetwork::new(addr, prefix).ok_or_else(|| error(Cause::PrefixTooLong))
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The client address: the peer, unless the peer is a trusted proxy, in which
/// case `X-Forwarded-For` is walked from the right (the hop nearest to us)
/// past every trusted proxy; the first untrusted hop is the client. A
/// malformed entry stops the walk at the last address known good.
pub(crate) fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNetwork],
) -> Option<IpAddr> {
    let mut client = peer?.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(client) {
        return Some(client);
    }
    // Several X-Forwarded-For headers are one list, in order.
    let values: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    for hop in values.iter().rev().flat_map(|v| v.rsplit(',')) {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    Some(client)
}

/// An `X-Forwarded-For` entry: an address, tolerating `[v6]`, `v4:port`
/// and `[v6]:port` as some proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn a_parse_error_keeps_what_did_not_parse() {
        let bad_address = "10.0.0.x/8".parse::<IpNetwork>().unwrap_err();
        assert!(bad_address
            .source()
            .unwrap()
            .is::<std::net::AddrParseError>());
        let bad_prefix = "10.0.0.0/x".parse::<IpNetwork>().unwrap_err();
        assert!(bad_prefix.source().unwrap().is::<std::num::ParseIntError>());
        let too_long = "10.0.0.0/33".parse::<IpNetwork>().unwrap_err();
        assert!(too_long.source().is_none());
        assert_eq!(
            too_long.to_string(),
            "trusted proxy \"10.0.0.0/33\": expected an IP address or address/prefix"
        );
    }

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in xff {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_are_not_believed() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let got = client_ip(Some(ip("203.0.113.9")), &headers(&["1.2.3.4"]), &trusted);
        assert_eq!(got, Some(ip("203.0.113.9")));
    }

    #[test]
    fn trusted_chain_is_walked_from_the_right() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let h = headers(&["6.6.6.6, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &h, &trusted),
            Some(ip("198.51.100.7"))
        );
        // All trusted: the leftmost is the client.
        let h = headers(&["10.9.9.9, 10.0.0.2"]);
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &h, &trusted),
            Some(ip("10.9.9.9"))
        );
        // Garbage stops the walk.
        let h = headers(&["1.1.1.1, junk, 10.0.0.2"]);
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &h, &trusted),
            Some(ip("10.0.0.2"))
        );
        let h = headers(&["[2001:db8::1]:443"]);
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &h, &trusted),
            Some(ip("2001:db8::1"))
        );
    }

    #[test]
    fn mapped_addresses_and_prefixes() {
        let net: IpNetwork = "127.0.0.1".parse().unwrap();
        assert!(net.contains(ip("::ffff:127.0.0.1")));
        let net: IpNetwork = "2001:db8::/33".parse().unwrap();
        assert!(net.contains(ip("2001:db8:7fff::1")));
        assert!(!net.contains(ip("2001:db8:8000::1")));
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!("nope".parse::<IpNetwork>().is_err());
        assert!("::/129".parse::<IpNetwork>().is_err());
    }
}
