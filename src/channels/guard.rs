//! The SSRF guard of the outbound channels: whether an address is on the public internet,
//! judged by what the address means, not how it is spelled. An IPv6 address that carries an
//! IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) is judged by the IPv4 address it carries;
//! every other special-purpose range of the IANA IPv4 and IPv6 registries that is not
//! globally reachable is refused. This module decides; it sends nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether an outbound request may go to `ip`: a globally reachable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// Within `net/len`.
fn in_v4(ip: Ipv4Addr, net: [u8; 4], len: u32) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], len: u32) -> bool {
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

/// IPv4 ranges that are not globally reachable: the IANA IPv4 special-purpose registry's
/// entries with "globally reachable: false" (and the deprecated 6to4 relay anycast), plus
/// multicast and the reserved class E.
const V4_NOT_PUBLIC: &[([u8; 4], u32)] = &[
    ([0, 0, 0, 0], 8),       // "this network" (RFC 791)
    ([10, 0, 0, 0], 8),      // private (RFC 1918)
    ([100, 64, 0, 0], 10),   // shared address space, carrier-grade NAT (RFC 6598)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local (cloud metadata lives here)
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 2, 0], 24),    // TEST-NET-1 (documentation)
    ([192, 88, 99, 0], 24),  // deprecated 6to4 relay anycast (RFC 7526), 6a44 relay
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking (RFC 2544)
    ([198, 51, 100, 0], 24), // TEST-NET-2
    ([203, 0, 113, 0], 24),  // TEST-NET-3
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and 255.255.255.255 limited broadcast
];

fn is_public_v4(ip: Ipv4Addr) -> bool {
    // 192.0.0.0/24, IETF protocol assignments, is not globally reachable, except the PCP
    // and TURN anycast addresses (192.0.0.9 and .10), which the registry marks reachable.
    if in_v4(ip, [192, 0, 0, 0], 24) {
        return matches!(ip.octets()[3], 9 | 10);
    }
    !V4_NOT_PUBLIC.iter().any(|&(net, len)| in_v4(ip, net, len))
}

/// IPv6 ranges inside global unicast (2000::/3) that are not globally reachable, from the
/// IANA IPv6 special-purpose registry. Those outside 2000::/3 are refused wholesale below.
const V6_NOT_PUBLIC: &[([u16; 8], u32)] = &[
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation (RFC 3849)
    ([0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48),   // benchmarking (RFC 5180)
    ([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28),  // ORCHID, deprecated (RFC 4843)
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),     // documentation (RFC 9637)
    ([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16),     // segment routing SIDs (RFC 9602)
];

/// Ranges of 2001::/23 (IETF protocol assignments, not reachable as a whole) that the
/// registry marks globally reachable.
const V6_IETF_REACHABLE: &[([u16; 8], u32)] = &[
    ([0x2001, 0x1, 0, 0, 0, 0, 0, 0x1], 128),  // PCP anycast
    ([0x2001, 0x1, 0, 0, 0, 0, 0, 0x2], 128),  // TURN anycast
    ([0x2001, 0x1, 0, 0, 0, 0, 0, 0x3], 128),  // DNS-SD service registration anycast
    ([0x2001, 0x3, 0, 0, 0, 0, 0, 0], 32),     // AMT
    ([0x2001, 0x4, 0x112, 0, 0, 0, 0, 0], 48), // AS112-v6
    ([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28),    // ORCHIDv2
    ([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28),    // drone remote ID
];

/// The IPv4 address an IPv6 address stands for, where it stands for one: the last 32 bits
/// of IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) addresses, bits 16..48 of 6to4
/// (2002::/16). `None` for every other address.
pub fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from(bits as u32);
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96) || in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return Some(low);
    }
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    // Teredo (2001::/32) carries two IPv4 addresses: the server's in bits 32..64 and the
    // client's, inverted, in the last 32 bits. Both must be public.
    if in_v6(ip, [0x2001, 0, 0, 0, 0, 0, 0, 0], 32) {
        let bits = u128::from(ip);
        let server = Ipv4Addr::from((bits >> 64) as u32);
        let client = Ipv4Addr::from(!(bits as u32));
        return is_public_v4(server) && is_public_v4(client);
    }
    // Outside global unicast: loopback, unspecified, the deprecated IPv4-compatible ::/96,
    // local-use NAT64 64:ff9b:1::/48, discard-only 100::/64, unique-local fc00::/7,
    // link-local fe80::/10, the deprecated site-local fec0::/10, multicast ff00::/8 and
    // everything unassigned.
    if !in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        return false;
    }
    if in_v6(ip, [0x2001, 0, 0, 0, 0, 0, 0, 0], 23) {
        return V6_IETF_REACHABLE.iter().any(|&(net, len)| in_v6(ip, net, len));
    }
    !V6_NOT_PUBLIC.iter().any(|&(net, len)| in_v6(ip, net, len))
}

/// The public addresses among those a name resolved to; `Err` with the reason when none is.
pub fn keep_public(
    host: &str,
    found: impl Iterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, PrivateTarget> {
    let public: Vec<SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
    if public.is_empty() {
        return Err(PrivateTarget(format!(
            "{host} resolves only to private addresses, which this dispatcher does not deliver to (delivery.allow_private_targets)"
        )));
    }
    Ok(public)
}

/// A target in a private network: final, not worth a retry.
#[derive(Debug)]
pub struct PrivateTarget(pub String);

impl std::fmt::Display for PrivateTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PrivateTarget {}

/// A resolver that keeps only public addresses.
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public = keep_public(&host, found)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry of the IANA special-purpose registries (IPv4 and IPv6), with an address
    /// inside it and whether an outbound request may go there.
    const REGISTRY: &[(&str, bool, &str)] = &[
        // IPv4 special-purpose address registry.
        ("0.0.0.0", false, "this host on this network"),
        ("0.1.2.3", false, "this network"),
        ("10.1.2.3", false, "private-use"),
        ("100.64.0.1", false, "shared address space"),
        ("100.127.255.254", false, "shared address space"),
        ("127.0.0.1", false, "loopback"),
        ("127.255.0.9", false, "loopback"),
        ("169.254.169.254", false, "link local"),
        ("172.16.0.1", false, "private-use"),
        ("172.31.255.254", false, "private-use"),
        ("192.0.0.1", false, "IETF protocol assignments"),
        ("192.0.0.5", false, "IPv4 service continuity prefix"),
        ("192.0.0.8", false, "IPv4 dummy address"),
        ("192.0.0.9", true, "port control protocol anycast"),
        ("192.0.0.10", true, "TURN anycast"),
        ("192.0.0.170", false, "NAT64/DNS64 discovery"),
        ("192.0.0.171", false, "NAT64/DNS64 discovery"),
        ("192.0.2.10", false, "documentation TEST-NET-1"),
        ("192.31.196.1", true, "AS112-v4"),
        ("192.52.193.1", true, "AMT"),
        ("192.88.99.1", false, "deprecated 6to4 relay anycast"),
        ("192.88.99.2", false, "6a44 relay anycast"),
        ("192.168.1.1", false, "private-use"),
        ("192.175.48.1", true, "direct delegation AS112 service"),
        ("198.18.0.1", false, "benchmarking"),
        ("198.19.255.1", false, "benchmarking"),
        ("198.51.100.7", false, "documentation TEST-NET-2"),
        ("203.0.113.7", false, "documentation TEST-NET-3"),
        ("240.0.0.1", false, "reserved"),
        ("255.255.255.255", false, "limited broadcast"),
        ("224.0.0.251", false, "multicast"),
        ("239.255.255.250", false, "multicast"),
        // IPv6 special-purpose address registry.
        ("::1", false, "loopback"),
        ("::", false, "unspecified"),
        ("::ffff:127.0.0.1", false, "IPv4-mapped loopback"),
        ("::ffff:169.254.169.254", false, "IPv4-mapped link local"),
        ("::ffff:10.0.0.1", false, "IPv4-mapped private"),
        ("::ffff:8.8.8.8", true, "IPv4-mapped public"),
        ("::127.0.0.1", false, "IPv4-compatible (deprecated)"),
        ("::8.8.8.8", false, "IPv4-compatible (deprecated)"),
        ("::ffff:0:7f00:1", false, "IPv4-translated (SIIT)"),
        ("64:ff9b::127.0.0.1", false, "NAT64 of loopback"),
        ("64:ff9b::a9fe:a9fe", false, "NAT64 of link local"),
        ("64:ff9b::192.168.0.1", false, "NAT64 of private"),
        ("64:ff9b::8.8.8.8", true, "NAT64 of public"),
        ("64:ff9b:1::8.8.8.8", false, "local-use IPv4/IPv6 translation"),
        ("100::1", false, "discard-only"),
        ("100:0:0:1::1", false, "dummy IPv6 prefix"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", false, "Teredo with a loopback client"),
        ("2001:0:7f00:1:8000:63bf:f7f7:f7f7", false, "Teredo with a loopback server"),
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", true, "Teredo, both public"),
        ("2001:1::1", true, "PCP anycast"),
        ("2001:1::2", true, "TURN anycast"),
        ("2001:1::3", true, "DNS-SD SRP anycast"),
        ("2001:1::4", false, "IETF protocol assignments"),
        ("2001:2::1", false, "benchmarking"),
        ("2001:3::1", true, "AMT"),
        ("2001:4:112::1", true, "AS112-v6"),
        ("2001:5::1", false, "IETF protocol assignments"),
        ("2001:10::1", false, "ORCHID (deprecated)"),
        ("2001:20::1", true, "ORCHIDv2"),
        ("2001:30::1", true, "drone remote ID"),
        ("2001:1ff::1", false, "IETF protocol assignments"),
        ("2001:db8::1", false, "documentation"),
        ("2002:7f00:1::1", false, "6to4 of loopback"),
        ("2002:a9fe:a9fe::1", false, "6to4 of link local"),
        ("2002:c0a8:101::1", false, "6to4 of private"),
        ("2002:808:808::1", true, "6to4 of public"),
        ("2620:4f:8000::1", true, "direct delegation AS112"),
        ("3fff::1", false, "documentation"),
        ("5f00::1", false, "segment routing SIDs"),
        ("fc00::1", false, "unique local"),
        ("fd12:3456::1", false, "unique local"),
        ("fe80::1", false, "link local"),
        ("febf::1", false, "link local"),
        ("fec0::1", false, "site local (deprecated)"),
        ("ff02::1", false, "multicast"),
        ("ff0e::1", false, "multicast"),
        ("4000::1", false, "unassigned"),
        // Ordinary public addresses.
        ("1.1.1.1", true, "public"),
        ("8.8.8.8", true, "public"),
        ("100.63.255.255", true, "just below shared space"),
        ("100.128.0.0", true, "just above shared space"),
        ("172.32.0.1", true, "just above 172.16/12"),
        ("2606:4700:4700::1111", true, "public"),
        ("2a00:1450:4001::1", true, "public"),
        ("2001:200::1", true, "just above 2001::/23"),
    ];

    #[test]
    fn every_special_purpose_range_is_classified_by_meaning() {
        let wrong: Vec<String> = REGISTRY
            .iter()
            .filter(|(ip, public, _)| is_public(ip.parse().unwrap()) != *public)
            .map(|(ip, public, what)| format!("{ip} ({what}): expected public={public}"))
            .collect();
        assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
    }

    #[test]
    fn embedded_ipv4_is_read_from_each_form() {
        let v4 = |s: &str| embedded_v4(s.parse().unwrap());
        assert_eq!(v4("::ffff:127.0.0.1"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(v4("64:ff9b::7f00:1"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(v4("2002:7f00:1:2::3"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(v4("2606:4700::1"), None);
    }

    #[test]
    fn names_resolving_only_to_special_addresses_are_refused() {
        let addrs = |ips: &[&str]| -> Vec<SocketAddr> {
            ips.iter().map(|ip| SocketAddr::new(ip.parse().unwrap(), 443)).collect()
        };
        for (ip, public, what) in REGISTRY {
            let r = keep_public("hooks.example", addrs(&[ip]).into_iter());
            assert_eq!(r.is_ok(), *public, "{ip} ({what})");
        }
        let mixed = keep_public("x.example", addrs(&["::ffff:127.0.0.1", "2002:808:808::1"]).into_iter());
        assert_eq!(mixed.unwrap(), addrs(&["2002:808:808::1"]));
        let e = keep_public("x.example", addrs(&["64:ff9b::a9fe:a9fe", "10.0.0.1"]).into_iter()).unwrap_err();
        assert!(e.0.contains("x.example resolves only to private addresses"), "{e}");
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_by_the_client() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let r = PublicOnly.resolve(name).await;
        let e = r.err().expect("localhost must be refused");
        assert!(e.to_string().contains("resolves only to private addresses"), "{e}");
    }
}
